//! SIP calls' pages: the server's [`crate::sip::Desk`]. A call's page starts like a browser
//! microphone's (`POST /api/pages` with `"source": "mic"`, through [`super::pages::Pages`] and
//! so the [`crate::page::Pager`]): a talker with no phone whose relay reads the queue
//! ([`super::talk::RelayFeed`]) the SIP agent pushes the caller's frames into. The page is in the
//! history as requested by `sip:CALLER`, and ends with the server like every other. A zone
//! whose every phone is held by higher pages is a busy one (486).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::pages::{BROWSER_MIC, Pages, StartError, StartPage};
use crate::page::{DeliveryReport, Origin, PageError};
use crate::sip::{CallLink, CallPage, Desk, DeskRefusal, Starting};
use crate::source::Trust;

/// Starts the pages of SIP calls on the server's running pages.
pub struct CallDesk {
    pages: Pages,
}

impl CallDesk {
    /// A desk on `pages`.
    pub fn new(pages: Pages) -> Arc<CallDesk> {
        Arc::new(CallDesk { pages })
    }

    async fn start_call(&self, call: CallPage) -> Result<CallLink, DeskRefusal> {
        let req = StartPage {
            zone: call.zone,
            source: BROWSER_MIC.to_owned(),
            trust: Trust::Api,
            banner: None,
            priority: call.priority,
            duration: None,
            via_media: false,
            origin: Origin::Caller(call.caller),
            talker: None,
            voice: None,
        };
        let id = self.pages.start(req).await.map_err(|e| match e {
            StartError::Page(PageError::Busy(why)) => DeskRefusal::Busy(why),
            other => DeskRefusal::Unavailable(other.to_string()),
        })?;
        let link = self.pages.open_mic(&id).map_err(|e| {
            self.pages
                .stop(&id, "the call's audio could not be connected");
            DeskRefusal::Unavailable(e.to_string())
        })?;
        let mut live = link.live.clone();
        if let Some(why) = ended_at_once(&mut live).await {
            return Err(DeskRefusal::Busy(why));
        }
        let feed = link.feed;
        let pages = self.pages.clone();
        let page = id.clone();
        Ok(CallLink {
            page: id,
            feed: Box::new(move |frame| feed.push(frame.iter().copied())),
            stop: Box::new(move |why| {
                pages.stop(&page, why);
            }),
            live: link.live,
        })
    }
}

/// Longest a call's answer waits for its page's first push.
const FIRST_PUSH_WAIT: Duration = Duration::from_secs(2);

/// A page whose every phone is held by higher pages is planned and ends at once, with no phone
/// pushed: for a caller that is a busy zone (486), not a call answered into silence. `Some`
/// (why it ended) when the page ended before its first push.
async fn ended_at_once(live: &mut watch::Receiver<DeliveryReport>) -> Option<String> {
    let first_push = async {
        loop {
            if live.borrow_and_update().totals.pushed > 0 {
                return None;
            }
            if live.changed().await.is_err() {
                let r = live.borrow();
                let why = if r.ended_by.is_empty() {
                    "no phone of the zone can take part".to_owned()
                } else {
                    r.ended_by.clone()
                };
                return Some(why);
            }
        }
    };
    tokio::time::timeout(FIRST_PUSH_WAIT, first_push)
        .await
        .unwrap_or(None)
}

impl Desk for CallDesk {
    fn start(&self, call: CallPage) -> Starting<'_> {
        Box::pin(self.start_call(call))
    }
}
