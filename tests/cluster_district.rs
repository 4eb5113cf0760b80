//! District pages across sites (issue 24): a hub nats-server and a leaf per site, each leaf
//! behind a delaying, cuttable WAN link ([`common::district_net`]).

mod common;

use std::time::{Duration, Instant};

use common::district_net::DistrictNet;

/// A request/reply from one site's leaf to another's, through the hub: `Ok(round trip)` or the
/// client's error.
async fn ask(from: &str, subject: &str) -> Result<Duration, String> {
    let c = async_nats::connect(from).await.map_err(|e| e.to_string())?;
    let t = Instant::now();
    let reply = tokio::time::timeout(
        Duration::from_secs(2),
        c.request(subject.to_owned(), "ping".into()),
    )
    .await
    .map_err(|_| "timed out".to_owned())?
    .map_err(|e| e.to_string())?;
    assert_eq!(&reply.payload[..], b"pong");
    Ok(t.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_crosses_leaf_hub_leaf_with_the_links_delay_and_not_while_cut() {
    let one_way = Duration::from_millis(20);
    let net = tokio::task::spawn_blocking(move || DistrictNet::start(&["north", "south"], one_way))
        .await
        .unwrap();
    // A responder at south's leaf.
    let south = async_nats::connect(net.site("south").url()).await.unwrap();
    let mut sub = south.subscribe("zc.south.ping").await.unwrap();
    let responder = south.clone();
    tokio::spawn(async move {
        use futures_util::StreamExt as _;
        while let Some(m) = sub.next().await {
            if let Some(r) = m.reply {
                let _ = responder.publish(r, "pong".into()).await;
            }
        }
    });
    south.flush().await.unwrap();
    // Asked from north's leaf: once south's interest has reached north through the hub.
    let north = net.site("north").url();
    let deadline = Instant::now() + Duration::from_secs(10);
    let rtt = loop {
        match ask(&north, "zc.south.ping").await {
            Ok(rtt) => break rtt,
            Err(e) => assert!(Instant::now() < deadline, "north never reached south: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Four link crossings: north -> hub -> south and back.
    assert!(
        rtt >= 4 * one_way,
        "round trip {rtt:?} under 4 x {one_way:?}"
    );
    let (to_hub, from_hub) = net.site("south").link.bytes();
    assert!(
        to_hub > 0 && from_hub > 0,
        "south's link counted {to_hub}/{from_hub} bytes"
    );
    // South's WAN cut: north's request finds no one (or times out); south still reaches itself.
    net.site("south").link.cut();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ask(&north, "zc.south.ping").await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "south still reached through a cut link"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ask(&net.site("south").url(), "zc.south.ping")
        .await
        .expect("south's own leaf answers during the cut");
    // Restored: the leaf reconnects and north reaches south again.
    net.site("south").link.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    while let Err(e) = ask(&north, "zc.south.ping").await {
        assert!(
            Instant::now() < deadline,
            "south not reached after the restore: {e}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(net.linked(), 2);
}
