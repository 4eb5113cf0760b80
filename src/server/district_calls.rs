//! A SIP call to a district zone (issue 24): its page is a district page spoken live
//! ([`DistrictPages::start_live`]): every site of the zone pages its own phones and plays the
//! caller's frames as they come over the bus. The call follows the district report as it follows
//! a local page's ([`crate::cluster::DistrictReport::as_delivery`]): the go-ahead beep once every
//! site has answered and its phones have, the call's end when every site's part has ended. A
//! delayed call's recording is kept here as for a local zone and sent to the sites at the pace
//! it was spoken, once they have answered.

use std::time::Duration;

use tokio::sync::watch;

use super::district_pages::DistrictPages;
use super::pages::StartPage;
use crate::cluster::LiveSender;
use crate::page::DeliveryReport;
use crate::rtp::packet::PAYLOAD_LEN;
use crate::sip::{CallLink, DeskRefusal, ended_at_once};

/// Longest a recording waits for the sites to answer before it is sent all the same.
const SITES_WAIT: Duration = Duration::from_secs(5);

/// Start a call's district page `page` (its audio the live stream): its id, where its frames
/// go, and its report as a call reads it. A page no site took is refused: busy (486) when a
/// site said so, else unavailable (503).
async fn start(
    district: &DistrictPages,
    page: &StartPage,
) -> Result<(String, LiveSender, watch::Receiver<DeliveryReport>), DeskRefusal> {
    let (id, sender) = district
        .start_live(page)
        .map_err(|e| DeskRefusal::Unavailable(e.to_string()))?;
    let mut live = district.follow(&id).ok_or_else(|| {
        DeskRefusal::Unavailable(format!("district page {id} ended before it was followed"))
    })?;
    if let Some(why) = ended_at_once(&mut live).await {
        return Err(if why.contains("busy") {
            DeskRefusal::Busy(why)
        } else {
            DeskRefusal::Unavailable(why)
        });
    }
    Ok((id, sender, live))
}

/// A live call's page of a district zone (`page`, a call's: see `calls::live_page`).
pub async fn start_call(
    district: &DistrictPages,
    page: &StartPage,
) -> Result<CallLink, DeskRefusal> {
    let (id, sender, live) = start(district, page).await?;
    let stopper = district.clone();
    let page = id.clone();
    Ok(CallLink {
        page: id,
        feed: Box::new(move |frame| sender.send(frame)),
        stop: Box::new(move |why| {
            stopper.stop(&page, why);
        }),
        live,
    })
}

/// A delayed call's recording (µ-law, kept by the caller of this) played to a district zone:
/// the district page's id. The frames go out once every site has answered (at most
/// [`SITES_WAIT`]), one each 20 ms; the parts end after the talker's idle time.
pub async fn play_recording(
    district: &DistrictPages,
    page: &StartPage,
    ulaw: Vec<u8>,
) -> Result<String, DeskRefusal> {
    let (id, sender, mut live) = start(district, page).await?;
    let page = id.clone();
    tokio::spawn(async move {
        let answered = async {
            while live.borrow_and_update().totals.starting > 0 {
                if live.changed().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(SITES_WAIT, answered).await;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for frame in ulaw.chunks_exact(PAYLOAD_LEN) {
            tick.tick().await;
            if let Ok(frame) = <&[u8; PAYLOAD_LEN]>::try_from(frame) {
                sender.send(frame);
            }
        }
        if sender.dropped() > 0 {
            tracing::warn!(
                "district page {page}: {} frames of the recording not sent (the bus was behind)",
                sender.dropped()
            );
        }
    });
    Ok(id)
}
