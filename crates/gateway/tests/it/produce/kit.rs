//! The 联营 Kit interfaces end to end: x-sign verification before parsing, the directory kept
//! per §4.9's idempotency rules, one event per call that changed something, clientSecret
//! decrypted with the vendor's key (ciphertexts made by the JDK, `testdata/oracle`) and handed out
//! only through the bearer API.

use std::path::PathBuf;

use koogate_protocol::AccessKey;
use koogate_protocol::signing::kit::{self, KitVariant};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, TestOptions, fresh_nonce, spawn_app};

const TENANT: &str = "68cbc86abcdef0123456880d92f36422fa0e";
const INSTANCE: &str = "kit-instance-1";

fn oracle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/oracle")
}

/// A clientSecret the JDK encrypted for the oracle test key, and its plaintext.
fn jdk_client_secret() -> (String, String) {
    let vectors: Value =
        serde_json::from_str(&std::fs::read_to_string(oracle_dir().join("vectors.json")).unwrap())
            .unwrap();
    let case = &vectors["rsa_oaep"]["cases"][0];
    (
        case["ciphertext_b64"].as_str().unwrap().to_owned(),
        case["plaintext"].as_str().unwrap().to_owned(),
    )
}

fn with_kit_key(options: TestOptions) -> TestOptions {
    options.configure(|c| {
        c.kit_private_key_file = Some(oracle_dir().join("rsa-test-private.pem"));
    })
}

/// Posts a Kit call signed the way the official demo verifies (canonical JSON, §4.3).
async fn kit_call(app: &TestApp, operation: &str, body: &Value) -> Value {
    let bytes = serde_json::to_vec(body).unwrap();
    let ts = app.now_ms().to_string();
    let nonce = fresh_nonce();
    let sign = kit::sign(&app.keys.basic, KitVariant::Canonical, &ts, &nonce, &bytes).unwrap();
    kit_raw(app, operation, bytes, Some((&sign, &ts, &nonce))).await
}

async fn kit_raw(
    app: &TestApp,
    operation: &str,
    body: Vec<u8>,
    headers: Option<(&str, &str, &str)>,
) -> Value {
    let mut request = app
        .http
        .post(format!("{}/produceAPI/v2/{operation}", app.produce_url))
        .header("content-type", "application/json")
        .body(body);
    if let Some((sign, ts, nonce)) = headers {
        request = request
            .header("x-sign", sign)
            .header("x-timestamp", ts)
            .header("x-nonce", nonce);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.is_ascii(), "answers are ASCII JSON");
    let answer: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(answer["resultMsg"].is_string(), "{answer}");
    answer
}

fn tenant_sync(flag: u8, name: &str) -> Value {
    json!({"instanceId": INSTANCE, "orderId": "CS1906666666ABCDE", "tenantId": TENANT,
           "tenantCode": "huawei", "name": name, "domainName": "https://example.tenantaccount.com",
           "flag": flag, "testFlag": 0, "timeStamp": "20220413093539534"})
}

fn users(flag: u8, names: &[&str]) -> Value {
    let list: Vec<Value> = names
        .iter()
        .map(|n| json!({"userName": n, "name": "张三", "orgCode": "10000", "role": "admin", "enable": "true"}))
        .collect();
    json!({"instanceId": INSTANCE, "tenantId": TENANT, "appId": "KSIDJF1234456", "userList": list,
           "currentSyncTime": "20220413093539534", "flag": flag, "testFlag": 1,
           "timeStamp": "20220413093539534"})
}

async fn directory(app: &TestApp, kind: &str, query: &str) -> Vec<Value> {
    let (status, _, body) = app
        .get(&format!("/api/v1/kit/{kind}?{query}"), Some(&app.api_token))
        .await;
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

async fn event_types(app: &TestApp) -> Vec<String> {
    app.event_types(&format!("kit:{TENANT}")).await
}

fn ok(answer: &Value) {
    assert_eq!(answer["resultCode"], "000000", "{answer}");
}

async fn the_directory_follows_the_kit_calls(app: TestApp) {
    // tenantSync: added once; the same add again changes nothing; a rename is one more event.
    ok(&kit_call(&app, "tenantSync", &tenant_sync(1, "huaiweitest")).await);
    ok(&kit_call(&app, "tenantSync", &tenant_sync(1, "huaiweitest")).await);
    assert_eq!(event_types(&app).await, ["kit.tenant_synced"]);
    // A modify changes only name and domainName (§4.4), whatever else it carries.
    let mut modify = tenant_sync(2, "renamed");
    modify["orderId"] = json!("");
    modify["tenantCode"] = json!("other-code");
    ok(&kit_call(&app, "tenantSync", &modify).await);
    let tenants = directory(&app, "tenants", "").await;
    assert_eq!(tenants.len(), 1);
    assert_eq!(tenants[0]["data"]["name"], "renamed");
    assert_eq!(tenants[0]["data"]["orderId"], "CS1906666666ABCDE");
    assert_eq!(tenants[0]["data"]["tenantCode"], "huawei");

    // applicationSync: the JDK-encrypted secret is decrypted, stored sealed, served by the API.
    let (ciphertext, plaintext) = jdk_client_secret();
    let app_sync = json!({"instanceId": INSTANCE, "tenantId": TENANT, "appId": "KSIDJF1234456",
        "clientId": "client-1", "clientSecret": ciphertext, "flag": 1, "testFlag": 0,
        "timeStamp": "20220413093539534"});
    ok(&kit_call(&app, "applicationSync", &app_sync).await);
    ok(&kit_call(&app, "applicationSync", &app_sync).await);
    let apps = directory(&app, "apps", &format!("tenant={TENANT}")).await;
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["data"]["clientId"], "client-1");
    assert_eq!(apps[0]["data"]["clientSecret"], plaintext.as_str());
    // Never in an event, never in the stored record in clear.
    let events = app.events(&format!("kit:{TENANT}")).await;
    assert!(events.iter().all(|e| !e.payload.contains(&plaintext)));
    let stored = app.snapshot().await.usage;
    assert!(stored.iter().any(|(what, _)| what == "kit"));
    assert!(stored.iter().all(|(_, row)| !row.contains(&plaintext)));
    // Only with the bearer token.
    for token in [None, Some("wrong-token")] {
        let (status, _, _) = app.get("/api/v1/kit/apps", token).await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type == "kit.app_synced")
            .count(),
        1
    );

    // authSync: two users authorised, one de-authorised.
    ok(&kit_call(&app, "authSync", &users(1, &["zhangsan01", "lisi02"])).await);
    ok(&kit_call(&app, "authSync", &users(3, &["lisi02"])).await);
    ok(&kit_call(&app, "authSync", &users(3, &["lisi02"])).await);
    let live = directory(&app, "users", "").await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["item"], "zhangsan01");
    assert_eq!(live[0]["data"]["name"], "张三");
    assert_eq!(
        directory(&app, "users", "includeDeleted=true").await.len(),
        2
    );

    // Departments: one added, then the whole tree replaced without it.
    let single = json!({"instanceId": INSTANCE, "tenantId": TENANT, "orgCode": "10000",
        "orgName": "开发部", "flag": 1, "testFlag": 0, "timeStamp": "20220413093539534"});
    ok(&kit_call(&app, "singleOrgSync", &single).await);
    let all = json!({"instanceId": INSTANCE, "tenantId": TENANT,
        "orgInfoList": [{"orgCode": "20000", "orgName": "测试部"},
                        {"orgCode": "20001", "orgName": "测试一组", "parentCode": "20000"}],
        "testFlag": 0, "timeStamp": "20220413093539534"});
    ok(&kit_call(&app, "allOrgSync", &all).await);
    ok(&kit_call(&app, "allOrgSync", &all).await);
    let orgs: Vec<String> = directory(&app, "orgs", "")
        .await
        .iter()
        .map(|o| o["item"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(orgs, ["20000", "20001"]);

    // A deleted app keeps its id in the directory, not its secret.
    let mut delete_app = app_sync.clone();
    delete_app["flag"] = json!(0);
    ok(&kit_call(&app, "applicationSync", &delete_app).await);
    assert!(directory(&app, "apps", "").await.is_empty());
    let deleted = directory(&app, "apps", "includeDeleted=true").await;
    assert_eq!(deleted[0]["deleted"], true);
    assert_eq!(deleted[0]["data"]["clientId"], "client-1");
    assert!(deleted[0]["data"]["clientSecret"].is_null());

    // A delete answers success, once or twice, and is one event.
    ok(&kit_call(&app, "tenantSync", &tenant_sync(0, "renamed")).await);
    ok(&kit_call(&app, "tenantSync", &tenant_sync(0, "renamed")).await);
    assert!(directory(&app, "tenants", "").await.is_empty());
    assert_eq!(
        event_types(&app).await,
        [
            "kit.tenant_synced",
            "kit.tenant_synced",
            "kit.app_synced",
            "kit.users_synced",
            "kit.users_synced",
            "kit.org_synced",
            "kit.orgs_replaced",
            "kit.app_synced",
            "kit.tenant_synced",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_follows_the_kit_calls_sqlite() {
    the_directory_follows_the_kit_calls(spawn_app(with_kit_key(TestOptions::default())).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_follows_the_kit_calls_postgres() {
    let Some(options) = TestOptions::on(Backend::Postgres, "the_directory_follows_the_kit_calls")
    else {
        return;
    };
    the_directory_follows_the_kit_calls(spawn_app(with_kit_key(options)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_kit_calls_get_the_protocols_answer_and_change_nothing() {
    let app = spawn_app(with_kit_key(TestOptions::default())).await;
    let before = app.snapshot().await;
    let body = serde_json::to_vec(&tenant_sync(1, "x")).unwrap();
    let ts = app.now_ms().to_string();
    let sign = |key: &AccessKey, ts: &str, nonce: &str| {
        kit::sign(key, KitVariant::Canonical, ts, nonce, &body).unwrap()
    };
    let refused = |answer: Value, code: &str| assert_eq!(answer["resultCode"], code, "{answer}");

    let wrong_key = AccessKey::new("not-the-kit-key");
    let nonce = fresh_nonce();
    refused(
        kit_raw(
            &app,
            "tenantSync",
            body.clone(),
            Some((&sign(&wrong_key, &ts, &nonce), &ts, &nonce)),
        )
        .await,
        "000001",
    );
    refused(
        kit_raw(&app, "tenantSync", body.clone(), None).await,
        "000001",
    );
    let stale = (app.now_ms() - 61_000).to_string();
    let nonce = fresh_nonce();
    refused(
        kit_raw(
            &app,
            "tenantSync",
            body.clone(),
            Some((&sign(&app.keys.basic, &stale, &nonce), &stale, &nonce)),
        )
        .await,
        "000001",
    );
    // A signature over other bytes (a tampered body) fails too.
    let nonce = fresh_nonce();
    let tampered = serde_json::to_vec(&tenant_sync(1, "y")).unwrap();
    refused(
        kit_raw(
            &app,
            "tenantSync",
            tampered,
            Some((&sign(&app.keys.basic, &ts, &nonce), &ts, &nonce)),
        )
        .await,
        "000001",
    );
    // Well signed but malformed, incomplete or for an unknown operation: 000002.
    for (operation, bad) in [
        ("tenantSync", b"{not json".to_vec()),
        ("tenantSync", br#"{"tenantId":"t"}"#.to_vec()),
        (
            "authSync",
            serde_json::to_vec(&json!({"tenantId": TENANT, "flag": 9})).unwrap(),
        ),
        (
            "noSuchSync",
            serde_json::to_vec(&tenant_sync(1, "x")).unwrap(),
        ),
    ] {
        let nonce = fresh_nonce();
        let signature = kit::sign(&app.keys.basic, KitVariant::Raw, &ts, &nonce, &bad).unwrap();
        refused(
            kit_raw(&app, operation, bad, Some((&signature, &ts, &nonce))).await,
            "000002",
        );
    }
    // A clientSecret the key cannot open: 000101, as the official demo answers.
    let bad_secret = json!({"instanceId": INSTANCE, "tenantId": TENANT, "appId": "a",
        "clientId": "c", "clientSecret": "bm90IGVuY3J5cHRlZA==", "flag": 1, "testFlag": 0,
        "timeStamp": "20220413093539534"});
    refused(
        kit_call(&app, "applicationSync", &bad_secret).await,
        "000101",
    );
    assert_eq!(app.snapshot().await, before);
    assert!(
        directory(&app, "tenants", "includeDeleted=true")
            .await
            .is_empty()
    );
    assert!(
        directory(&app, "apps", "includeDeleted=true")
            .await
            .is_empty()
    );

    // A replayed nonce: the first call counts, its copy is refused.
    let nonce = fresh_nonce();
    let signature = sign(&app.keys.basic, &ts, &nonce);
    ok(&kit_raw(
        &app,
        "tenantSync",
        body.clone(),
        Some((&signature, &ts, &nonce)),
    )
    .await);
    let after_first = app.snapshot().await;
    refused(
        kit_raw(
            &app,
            "tenantSync",
            body.clone(),
            Some((&signature, &ts, &nonce)),
        )
        .await,
        "000001",
    );
    assert_eq!(app.snapshot().await, after_first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_private_key_application_sync_answers_000101() {
    let app = spawn_app(TestOptions::default()).await;
    let (ciphertext, _) = jdk_client_secret();
    let app_sync = json!({"instanceId": INSTANCE, "tenantId": TENANT, "appId": "a",
        "clientId": "c", "clientSecret": ciphertext, "flag": 1, "testFlag": 0,
        "timeStamp": "20220413093539534"});
    let answer = kit_call(&app, "applicationSync", &app_sync).await;
    assert_eq!(answer["resultCode"], "000101", "{answer}");
    // The rest of the Kit works without it.
    ok(&kit_call(&app, "tenantSync", &tenant_sync(1, "x")).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kit_calls_are_verified_with_the_kit_key_when_one_is_configured() {
    let kit_key = "kit-category-key-0001";
    let app = spawn_app(TestOptions::default().configure(move |c| {
        c.kit_access_key = Some(koogate_gateway::config::Secret::new(kit_key));
    }))
    .await;
    let body = serde_json::to_vec(&tenant_sync(1, "x")).unwrap();
    let ts = app.now_ms().to_string();
    // Signed with the basic key: refused, since each category has its own key (§1.2).
    let nonce = fresh_nonce();
    let basic = kit::sign(&app.keys.basic, KitVariant::Canonical, &ts, &nonce, &body).unwrap();
    let answer = kit_raw(
        &app,
        "tenantSync",
        body.clone(),
        Some((&basic, &ts, &nonce)),
    )
    .await;
    assert_eq!(answer["resultCode"], "000001", "{answer}");
    assert!(directory(&app, "tenants", "").await.is_empty());
    // The inner-HMAC variant of §4.3, signed with the kit key: accepted.
    let nonce = fresh_nonce();
    let sign = kit::sign(
        &AccessKey::new(kit_key),
        KitVariant::InnerHmac,
        &ts,
        &nonce,
        &body,
    )
    .unwrap();
    ok(&kit_raw(&app, "tenantSync", body, Some((&sign, &ts, &nonce))).await);
    assert_eq!(directory(&app, "tenants", "").await.len(), 1);
}
