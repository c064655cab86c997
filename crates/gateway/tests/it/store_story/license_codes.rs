//! The license-code part of the storage story: `Commit::license_code` writes the code's row in
//! the commit's transaction, on both backends.

use koogate_gateway::store::{LicenseCode, LicenseCodeStatus, LicenseCodeWrite};

use super::*;

fn refresh(code: &str, order: &str, expire: DateTime<Utc>) -> LicenseCodeWrite {
    LicenseCodeWrite::Refresh {
        code: code.into(),
        instance_id: Some("i-1".into()),
        order_id: order.into(),
        order_line_id: format!("{order}-000001"),
        product_id: Some("OFFI0001".into()),
        expire_time: expire,
    }
}

fn status(code: &str, status: LicenseCodeStatus) -> LicenseCodeWrite {
    LicenseCodeWrite::Status {
        code: code.into(),
        status,
    }
}

fn answered(key: &str, write: LicenseCodeWrite, now: DateTime<Utc>) -> Commit {
    Commit {
        response: Some((key.into(), format!("answer {key}").into_bytes())),
        license_code: Some(write),
        ..at(now)
    }
}

async fn row(store: &Arc<dyn Store>, code: &str) -> Option<LicenseCode> {
    store.get_license_code(code).await.unwrap()
}

pub async fn license_code_rows_follow_their_commits(store: Arc<dyn Store>) {
    let c = answered("refresh:1", refresh("PL1", "CS1", t(1000)), t(0));
    assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
    let first = row(&store, "PL1").await.unwrap();
    assert_eq!(first.status, LicenseCodeStatus::Alive);
    assert_eq!(first.instance_id.as_deref(), Some("i-1"));
    assert_eq!(first.order_line_id.as_deref(), Some("CS1-000001"));
    assert_eq!(first.product_id.as_deref(), Some("OFFI0001"));
    assert_eq!(first.expire_time, Some(t(1000)));
    assert_eq!(
        (first.version, first.created_at, first.updated_at),
        (1, t(0), t(0))
    );
    assert_eq!(first.activated_at, None);

    // The same key again: replayed, and the row keeps what the first commit wrote.
    let again = answered("refresh:1", refresh("PL1", "CS9", t(9000)), t(1));
    assert!(matches!(
        commit(&store, again).await,
        CommitOutcome::Replayed(_)
    ));
    assert_eq!(row(&store, "PL1").await.unwrap(), first);

    // A commit that fails after the write (a duplicate event id) rolls the write back too.
    let seed = Commit {
        events: vec![event("ev-1", "license:PL1")],
        ..at(t(2))
    };
    assert_eq!(commit(&store, seed).await, CommitOutcome::Committed);
    let failing = Commit {
        events: vec![event("ev-1", "license:PL1")],
        ..answered("freeze:1", status("PL1", LicenseCodeStatus::Frozen), t(3))
    };
    assert!(matches!(
        store.commit(failing).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(row(&store, "PL1").await.unwrap(), first);
    assert_eq!(store.find_response("freeze:1").await.unwrap(), None);

    // A status change writes the status only; a renewal after it keeps the status and fills
    // what it does not name from the row.
    let c = answered("freeze:2", status("PL1", LicenseCodeStatus::Frozen), t(4));
    assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
    let renewal = LicenseCodeWrite::Refresh {
        code: "PL1".into(),
        instance_id: None,
        order_id: "CS2".into(),
        order_line_id: "CS2-000001".into(),
        product_id: None,
        expire_time: t(2000),
    };
    let c = answered("refresh:2", renewal, t(5));
    assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
    let renewed = row(&store, "PL1").await.unwrap();
    assert_eq!(renewed.status, LicenseCodeStatus::Frozen);
    assert_eq!(renewed.instance_id.as_deref(), Some("i-1"));
    assert_eq!(renewed.product_id.as_deref(), Some("OFFI0001"));
    assert_eq!(renewed.order_id.as_deref(), Some("CS2"));
    assert_eq!(renewed.expire_time, Some(t(2000)));
    assert_eq!((renewed.version, renewed.updated_at), (3, t(5)));

    // Released is terminal: a later status change leaves the row as it is.
    let release = LicenseCodeWrite::Release {
        code: "PL1".into(),
        order_id: None,
        order_line_id: None,
    };
    let c = answered("release", release, t(6));
    assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
    let released = row(&store, "PL1").await.unwrap();
    assert_eq!(released.status, LicenseCodeStatus::Released);
    assert_eq!(
        released.order_id.as_deref(),
        Some("CS2"),
        "kept: the release named none"
    );
    let c = answered("unfreeze", status("PL1", LicenseCodeStatus::Alive), t(7));
    assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
    assert_eq!(row(&store, "PL1").await.unwrap(), released);

    // A code first heard of in a status change or a release gets a row with what it names.
    let c = answered("freeze:PL2", status("PL2", LicenseCodeStatus::Frozen), t(8));
    assert_eq!(commit(&store, c).await, CommitOutcome::Committed);
    let second = row(&store, "PL2").await.unwrap();
    assert_eq!(
        (second.status, second.order_id, second.expire_time),
        (LicenseCodeStatus::Frozen, None, None)
    );

    // Listings: by code, optionally one instance's, limited.
    let codes = |list: Vec<LicenseCode>| list.into_iter().map(|c| c.code).collect::<Vec<_>>();
    assert_eq!(
        codes(store.list_license_codes(None, 10).await.unwrap()),
        ["PL1", "PL2"]
    );
    assert_eq!(
        codes(store.list_license_codes(None, 1).await.unwrap()),
        ["PL1"]
    );
    assert_eq!(
        codes(store.list_license_codes(Some("i-1"), 10).await.unwrap()),
        ["PL1"]
    );
    assert!(
        store
            .list_license_codes(Some("i-2"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(row(&store, "PL3").await, None);
}
