//! Settings that settle spec ambiguities (credential encryption, release of unknown instances,
//! the usage array's name, the change check's default), and `queryInstance` with several ids.

use koogate_gateway::config::{CredentialEncryption, ReleaseUnknown};
use koogate_protocol::crypto::credential::{self, EncryptType};
use serde_json::Value;

use super::{period_order, vendor_app_info};
use crate::support::{TestApp, TestOptions, spawn_app};

/// A hooked app whose hook provides [`vendor_app_info`], with one active instance.
async fn app_with_vendor_instance(options: TestOptions) -> (TestApp, String) {
    let app = spawn_app(options.with_hook()).await;
    app.hook().provide_app_info(vendor_app_info());
    let placed = app.place_order(period_order());
    let id = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-settings")
        .await
        .instance_id();
    app.run_outbox().await;
    (app, id)
}

async fn query_app_info(app: &TestApp, id: &str) -> (Value, Value) {
    let reply = app.query(&[id]).await;
    reply.assert_code("000000");
    let json = reply.json();
    let app_info = json["info"][0]["appInfo"].clone();
    (json, app_info)
}

async fn check_encrypted(encryption: CredentialEncryption, wire: &str, cipher: EncryptType) {
    let options = TestOptions::default().configure(move |c| c.encrypt_type = encryption);
    let (app, id) = app_with_vendor_instance(options).await;
    let (json, app_info) = query_app_info(&app, &id).await;
    assert_eq!(json["encryptType"], wire);
    for (field, plain) in [("userName", "tenant-admin"), ("password", "S3cret!pass-42")] {
        let sent = app_info[field].as_str().unwrap();
        assert_ne!(sent, plain, "{field} must not travel in clear");
        assert!(sent.len() <= 128, "{field} within the wire limit");
        let opened = credential::decrypt(&app.keys.basic, cipher, sent).unwrap();
        assert_eq!(opened, plain);
        // Not with another key, nor with the other cipher.
        assert_ne!(
            credential::decrypt(&app.keys.license, cipher, sent).ok(),
            Some(plain.to_owned())
        );
    }
    assert_eq!(
        app_info["frontEndUrl"],
        "https://vendor.example.com/tenant/42"
    );
    assert_eq!(app_info["adminUrl"], "https://vendor.example.com/admin/42");
    assert_eq!(app_info["memo"], "首次登录请修改密码");
    // A fresh IV per answer: two queries never carry the same ciphertext.
    let (_, again) = query_app_info(&app, &id).await;
    assert_ne!(again["password"], app_info["password"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_encrypted_with_encrypt_type_1() {
    check_encrypted(CredentialEncryption::Aes256, "1", EncryptType::Aes256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_encrypted_with_encrypt_type_2() {
    check_encrypted(CredentialEncryption::Aes128, "2", EncryptType::Aes128).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypt_type_none_sends_plain_credentials_without_encrypt_type() {
    let options = TestOptions::default().configure(|c| c.encrypt_type = CredentialEncryption::None);
    let (app, id) = app_with_vendor_instance(options).await;
    let reply = app.query(&[&id]).await;
    let json = reply.json();
    assert!(json.get("encryptType").is_none(), "{json}");
    assert!(!reply.text().contains("encryptType"));
    let app_info = &json["info"][0]["appInfo"];
    assert_eq!(app_info["userName"], "tenant-admin");
    assert_eq!(app_info["password"], "S3cret!pass-42");
    // The memo goes out with non-ASCII escaped (spec saas-v2 §3.2).
    assert!(
        reply
            .text()
            .contains(r#""memo":"\u9996\u6b21\u767b\u5f55\u8bf7\u4fee\u6539\u5bc6\u7801""#),
        "{}",
        reply.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_of_an_unknown_instance_follows_the_setting() {
    let app = spawn_app(TestOptions::default()).await;
    assert_eq!(ReleaseUnknown::default(), ReleaseUnknown::NotFound);
    let before = app.snapshot().await;
    app.release("never-existed").await.assert_code("000003");
    assert_eq!(app.snapshot().await, before);

    let options = TestOptions::default().configure(|c| c.release_unknown = ReleaseUnknown::Success);
    let app = spawn_app(options).await;
    let before = app.snapshot().await;
    app.release("never-existed").await.assert_code("000000");
    assert_eq!(
        app.snapshot().await,
        before,
        "nothing to release, nothing stored"
    );
    // Only unknown instances are affected: other refusals keep their codes.
    app.set_status("never-existed", "FREEZE")
        .await
        .assert_code("000003");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_info_name_setting_is_accepted_and_no_other_name_leaks() {
    // koogate keeps no usage data, so queryInstance never carries a usage array under either
    // name; what can be checked is that the setting does not break answers.
    let options = TestOptions::default().configure(|c| c.usage_info_name = "usageInfos".into());
    let (app, id) = app_with_vendor_instance(options).await;
    let reply = app.query(&[&id]).await;
    reply.assert_code("000000");
    assert!(!reply.text().contains("\"usageInfo\""), "{}", reply.text());
    assert_eq!(reply.json()["info"][0]["instanceId"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_check_refuses_when_configured_to() {
    let options = TestOptions::default().configure(|c| c.change_check_default = false);
    let app = spawn_app(options).await;
    let placed = app.place_order(period_order());
    let id = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-change")
        .await
        .instance_id();
    let before = app.snapshot().await;
    let reply = app.change_check(&id).await;
    reply.assert_code("000005");
    assert!(
        reply.json()["resultMsg"]
            .as_str()
            .unwrap()
            .contains("cannot be changed")
    );
    app.change_check("no-such-instance")
        .await
        .assert_code("000003");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_with_several_ids_answers_the_known_ones_in_order() {
    let app = spawn_app(TestOptions::default()).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let placed = app.place_order(period_order());
        let reply = app
            .new_instance(
                &placed.order_id,
                &placed.order_line_ids[0],
                &format!("biz-q{n}"),
            )
            .await;
        ids.push(reply.instance_id());
    }
    let asked = [
        ids[2].as_str(),
        "ghost-1",
        ids[0].as_str(),
        "ghost-2",
        ids[1].as_str(),
    ];
    let reply = app.query(&asked).await;
    reply.assert_code("000000");
    let json = reply.json();
    let answered: Vec<&str> = json["info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instanceId"].as_str().unwrap())
        .collect();
    assert_eq!(
        answered,
        [ids[2].as_str(), ids[0].as_str(), ids[1].as_str()]
    );
    let infos = json["info"].as_array().unwrap();
    assert!(
        infos
            .iter()
            .all(|i| i["appInfo"]["frontEndUrl"].is_string())
    );

    // Blanks around the commas are tolerated.
    let spaced = app
        .call(serde_json::json!({"activity": "queryInstance", "instanceId": format!(" {} , {} ", ids[0], ids[1])}))
        .await;
    spaced.assert_code("000000");
    assert_eq!(spaced.json()["info"].as_array().unwrap().len(), 2);

    app.query(&["ghost-1", "ghost-2"])
        .await
        .assert_code("000003");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_too_long_to_encrypt_are_refused_up_front() {
    // Encrypted, a credential is IV + base64 and must fit 128 characters: 79 bytes of plain
    // text do, 80 do not. Accepting more would make every later queryInstance fail.
    let app = spawn_app(TestOptions::default().with_hook()).await;
    let mut too_long = vendor_app_info();
    too_long["password"] = "p".repeat(80).into();
    app.hook().provide_app_info(too_long.clone());
    let placed = app.place_order(period_order());
    let id = app
        .new_instance(&placed.order_id, &placed.order_line_ids[0], "biz-long")
        .await
        .instance_id();
    app.run_outbox().await;
    assert!(
        app.instance(&id).await.app_info_sealed.is_none(),
        "hook answer ignored"
    );

    let before = app.snapshot().await;
    let (status, body) = app.mark_ready(&id, &too_long).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("password"),
        "{body}"
    );
    assert_eq!(app.snapshot().await, before);
    app.query(&[&id]).await.assert_code("000000");

    let mut fits = vendor_app_info();
    fits["password"] = "p".repeat(79).into();
    let (status, body) = app.mark_ready(&id, &fits).await;
    assert_eq!(status, 200, "{body}");
    let (_, app_info) = query_app_info(&app, &id).await;
    let sent = app_info["password"].as_str().unwrap();
    assert_eq!(sent.len(), 124);
    let opened = credential::decrypt(&app.keys.basic, EncryptType::Aes256, sent).unwrap();
    assert_eq!(opened, "p".repeat(79));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_credentials_may_use_the_whole_128_characters() {
    let options = TestOptions::default().configure(|c| c.encrypt_type = CredentialEncryption::None);
    let (app, id) = app_with_vendor_instance(options).await;
    let mut long = vendor_app_info();
    long["password"] = "p".repeat(128).into();
    let (status, body) = app.mark_ready(&id, &long).await;
    assert_eq!(status, 200, "{body}");
    let (_, app_info) = query_app_info(&app, &id).await;
    assert_eq!(app_info["password"], "p".repeat(128));
    long["password"] = "p".repeat(129).into();
    let (status, _) = app.mark_ready(&id, &long).await;
    assert_eq!(status, 422);
}
