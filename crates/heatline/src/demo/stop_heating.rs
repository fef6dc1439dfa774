//! The demo's stop-heating applications for next winter, one of each outcome: residents log
//! in through the sandbox's WeChat stand-in and apply; one supplier approves and its crew
//! seals the valve with a photo, one refuses for arrears, one approves and its crew has yet
//! to come, and one application still waits for its reply. Each resident allows one WeChat
//! subscribe message about it, and the three decided are told through the stand-in.

use anyhow::Context;
use serde_json::{Value, json};

use super::Client;
use super::city::home;

/// A supplier as the demo set it up: its id, its admin's token, its crew and the crew
/// member's token (from the start of the morning).
pub(super) type Supplier<'a> = (&'a str, String, String, String);

/// The smallest JPEG header the photo check accepts, and a caption: the demo's valve photo.
fn photo() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend_from_slice("阀门已铅封 / the valve is sealed".as_bytes());
    bytes
}

/// A resident logs in through the sandbox's WeChat stand-in.
async fn resident(api: &Client, name: &str) -> anyhow::Result<String> {
    let login = api
        .call(
            "/api/v1/auth/wechat",
            None,
            Some(json!({ "code": format!("sandbox-{name}") })),
        )
        .await?;
    Ok(login["access_token"]
        .as_str()
        .context("the resident's login answered no token")?
        .to_owned())
}

/// Files the four applications and replies to three; answers the applications as their
/// residents see them, once dispatch's news has reached them.
pub(super) async fn applications(
    api: &Client,
    suppliers: &[Supplier<'_>],
    season: &str,
) -> anyhow::Result<Vec<Value>> {
    let mut filed = Vec::new();
    for (i, n) in [3_usize, 4, 5, 6].into_iter().enumerate() {
        let (district, _, address) = home(n);
        let token = resident(api, &format!("demo.resident.{}", i + 1)).await?;
        // The mini-program asked, and the resident allowed one message about the decision.
        api.call(
            "/api/v1/me/notifications/subscriptions",
            Some(&token),
            Some(json!({ "family": "stop_heating", "accepted": 1 })),
        )
        .await?;
        let reason = ["away", "vacant"][i % 2];
        let application = api
            .call(
                "/api/v1/me/stop-heating-applications",
                Some(&token),
                Some(json!({
                    "kind": "stop", "season": season, "reason": reason,
                    "address": address,
                })),
            )
            .await?;
        let id = application["application_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        filed.push((id, district, token));
    }
    // Dispatch takes each application from intake's published events.
    for (id, district, _) in &filed {
        let path = format!("/api/v1/stop-heating/applications/{id}");
        let admin = &suppliers[*district].1;
        let mut waited = 0;
        while api.call(&path, Some(admin), None).await.is_err() {
            waited += 1;
            anyhow::ensure!(waited < 100, "application {id} did not reach dispatch");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let reply = |i: usize, body: Value| {
        let (id, district, _) = &filed[i];
        let admin = suppliers[*district].1.clone();
        let path = format!("/api/v1/stop-heating/applications/{id}/reply");
        async move { api.call(&path, Some(&admin), Some(body)).await }
    };
    let (sealed, sealer) = (&filed[0].0, &suppliers[filed[0].1]);
    reply(
        0,
        json!({"decision": "approve", "crew_id": sealer.2, "note": "十月上门关阀铅封"}),
    )
    .await?;
    let url = format!(
        "{}/api/v1/stop-heating/applications/{sealed}/valve-work",
        api.base
    );
    // The crew member's morning token has expired by now: a fresh login.
    let member = api.login(&format!("demo.crew.{}", sealer.0)).await?;
    let response = api
        .http
        .post(&url)
        .bearer_auth(&member)
        .header("content-type", "image/jpeg")
        .body(photo())
        .send()
        .await
        .context("recording the valve work")?;
    anyhow::ensure!(
        response.status().is_success(),
        "the valve work answered {}",
        response.status()
    );
    reply(
        1,
        json!({"decision": "refuse", "refusal": "arrears", "note": "上季供暖费未结清，请缴清后再申请"}),
    )
    .await?;
    let crew = &suppliers[filed[2].1].2;
    reply(
        2,
        json!({"decision": "approve", "crew_id": crew, "note": "将安排班组上门"}),
    )
    .await?;
    // The residents see the replies once intake has read dispatch's news, and are told of
    // a decision once identity's worker has sent it.
    let wanted = ["done", "refused", "approved", "applied"];
    for _ in 0..100 {
        let mut seen = Vec::new();
        for (_, _, token) in &filed {
            let mut mine = api
                .call("/api/v1/me/stop-heating-applications", Some(token), None)
                .await?[0]
                .clone();
            let told = api
                .call("/api/v1/me/notifications", Some(token), None)
                .await?;
            mine["notice"] = told["recent"][0].clone();
            seen.push(mine);
        }
        let replied = |a: &Value| a["status"] != "applied";
        if seen
            .iter()
            .zip(wanted)
            .all(|(a, w)| a["status"] == w && (!replied(a) || a["notice"]["status"] == "sent"))
        {
            return Ok(seen);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("the residents did not see or were not told the replies to their applications")
}
