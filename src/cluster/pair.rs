//! What one node of a standby pair knows of the other over the LAN heartbeat (`docs/cluster.md`,
//! "LAN heartbeat"), sans IO: the beat each node sends once a second (`site`, `node`, whether it
//! reaches the store, whether it leads and with which token), its wire form (bounded JSON), and
//! the one decision the store cannot make: with the store unreachable, does this node ring a bell
//! occurrence without a claim? Only the pair's preferred node does, and only when it hears its
//! peer say that the store is down there too (or it has no peer at all); anything else would risk
//! a double when only this node lost the store. A node that rang without the store says so in its
//! next beats (the occurrence's claim key), so that a peer whose store has just come back does
//! not claim and ring it again. A node's beats also list the occurrences it is ringing now, so
//! that its peer tells a claim left `ringing` by a live node from one a dead node left
//! ([`PeerRinging`]). And whether this node sees its LAN at all (a fresh beat from the peer, or
//! a phone that answered a probe): a node that sees neither is *ineligible* and neither leads nor
//! claims, so the node that reaches the phones rings.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The most a beat may take on the wire; larger datagrams are refused unread.
pub const BEAT_MAX_BYTES: usize = 1024;

/// How many occurrences rung without the store a beat repeats (the latest).
pub const STORELESS_KEPT: usize = 8;

/// One heartbeat, as sent once a second to the peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beat {
    /// The sender's site.
    pub site: String,
    /// The sender.
    pub node: String,
    /// Whether the sender reaches the site's store now.
    pub store_ok: bool,
    /// Whether the sender leads the site now.
    pub leader: bool,
    /// Its fencing token when leading, else 0.
    pub token: u64,
    /// The claim keys of the occurrences it rang without the store, latest last.
    #[serde(default)]
    pub storeless: Vec<String>,
    /// The claim keys of the occurrences it is ringing now (their pages not yet ended).
    #[serde(default)]
    pub ringing: Vec<String>,
}

impl Beat {
    /// The datagram.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Read a datagram; the reason it is refused otherwise.
    pub fn decode(bytes: &[u8]) -> Result<Beat, String> {
        if bytes.len() > BEAT_MAX_BYTES {
            return Err(format!(
                "a heartbeat of {} bytes (at most {BEAT_MAX_BYTES})",
                bytes.len()
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| format!("an unreadable heartbeat: {e}"))
    }
}

/// This node's view of its pair.
#[derive(Debug, Clone)]
pub struct PeerView {
    site: String,
    me: String,
    peer: Option<String>,
    preferred: bool,
    store_ok: bool,
    /// Since when the store has answered here without a break (`None`: not now).
    store_ok_since: Option<Instant>,
    heard: Option<(Instant, Beat)>,
    fresh_for: Duration,
    storeless: std::collections::VecDeque<String>,
    ringing: std::collections::BTreeSet<String>,
    probed: Option<Instant>,
}

/// What the peer's beats say of an occurrence it left `ringing` in the claims bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRinging {
    /// The peer is silent: it died, paused or lost the LAN, and its phones may be tuned to a
    /// stream that no longer comes.
    Orphaned,
    /// A beat sent since this node looked says the peer is ringing it now.
    Ringing,
    /// A beat sent since this node looked says the peer is not ringing it (its page ended, its
    /// `done` not yet written, or the claim is a restarted process's).
    Ended,
    /// No beat since this node looked yet: wait for the next one, or for silence.
    Unknown,
}

impl PeerView {
    /// `me` of `site`, whose pair is `pair` (the preferred node first); a beat counts for
    /// `fresh_for` after it arrived (three missed beats, say).
    pub fn new(site: &str, me: &str, pair: &[String], fresh_for: Duration) -> PeerView {
        PeerView {
            site: site.to_owned(),
            me: me.to_owned(),
            peer: pair.iter().find(|n| *n != me).cloned(),
            preferred: pair.first().is_none_or(|n| n == me),
            store_ok: false,
            store_ok_since: None,
            heard: None,
            fresh_for,
            storeless: Default::default(),
            ringing: Default::default(),
            probed: None,
        }
    }

    /// Whether this node reaches the store, as seen at `now` (the shell says so twice a second).
    pub fn handle_store(&mut self, now: Instant, ok: bool) {
        self.store_ok = ok;
        self.store_ok_since = match (ok, self.store_ok_since) {
            (false, _) => None,
            (true, None) => Some(now),
            (true, since) => since,
        };
    }

    /// Whether a follower that has come to lead at `now` may claim an occurrence at once rather
    /// than at due + claim wait. Only when every beat of this node the peer may still count as
    /// fresh said the store answers here: the peer rings without the store only on a fresh beat
    /// of ours saying the store is down, so the early claim and a storeless ring never meet.
    pub fn claims_early(&self, now: Instant) -> bool {
        self.store_ok_since
            .is_some_and(|since| now.saturating_duration_since(since) > self.fresh_for)
    }

    /// A beat arrived at `now`; refused when it is not from this site's other node.
    pub fn handle_beat(&mut self, now: Instant, beat: Beat) -> Result<(), String> {
        if beat.site != self.site {
            return Err(format!("a heartbeat from site {:?}", beat.site));
        }
        if self.peer.as_deref() != Some(beat.node.as_str()) {
            return Err(format!(
                "a heartbeat from node {:?}, not the peer",
                beat.node
            ));
        }
        self.heard = Some((now, beat));
        Ok(())
    }

    /// The peer's last beat if it is fresh at `now`.
    pub fn peer(&self, now: Instant) -> Option<&Beat> {
        self.heard
            .as_ref()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= self.fresh_for)
            .map(|(_, b)| b)
    }

    /// The beat to send now.
    /// (The oldest storeless keys are left out when they would not fit the datagram.)
    pub fn beat(&self, leader: bool, token: u64) -> Beat {
        let mut b = Beat {
            site: self.site.clone(),
            node: self.me.clone(),
            store_ok: self.store_ok,
            leader,
            token: if leader { token } else { 0 },
            storeless: self.storeless.iter().cloned().collect(),
            ringing: self.ringing.iter().cloned().collect(),
        };
        while b.encode().len() > BEAT_MAX_BYTES && !b.storeless.is_empty() {
            b.storeless.remove(0);
        }
        while b.encode().len() > BEAT_MAX_BYTES && !b.ringing.is_empty() {
            b.ringing.remove(0);
        }
        b
    }

    /// This node began (`true`) or ended ringing the occurrence `key` through its claim.
    pub fn handle_ringing(&mut self, key: &str, on: bool) {
        if on {
            self.ringing.insert(key.to_owned());
        } else {
            self.ringing.remove(key);
        }
    }

    /// What the peer's beats say at `now` of the occurrence `key` it left `ringing`, this node
    /// having first looked at `since`: a beat older than that may predate the claim.
    pub fn peer_ringing(&self, key: &str, since: Instant, now: Instant) -> PeerRinging {
        match self.heard.as_ref().filter(|_| self.peer(now).is_some()) {
            None => PeerRinging::Orphaned,
            Some((at, _)) if *at < since => PeerRinging::Unknown,
            Some((_, b)) if b.ringing.iter().any(|k| k == key) => PeerRinging::Ringing,
            Some(_) => PeerRinging::Ended,
        }
    }

    /// This node rang the occurrence `key` without the store.
    pub fn handle_rang_storeless(&mut self, key: &str) {
        if self.storeless.len() == STORELESS_KEPT {
            self.storeless.pop_front();
        }
        self.storeless.push_back(key.to_owned());
    }

    /// Whether the peer's last beat (fresh or not: the ring happened) says it rang `key` without
    /// the store.
    pub fn peer_rang_storeless(&self, key: &str) -> bool {
        self.heard
            .as_ref()
            .is_some_and(|(_, b)| b.storeless.iter().any(|k| k == key))
    }

    /// Whether this node rings an occurrence due at `now` without a claim: the store is
    /// unreachable here, this is the preferred node, and either it has no peer or the peer's
    /// fresh beat says the store is unreachable there too.
    pub fn rings_without_store(&self, now: Instant) -> bool {
        if self.store_ok || !self.preferred {
            return false;
        }
        match &self.peer {
            None => true,
            Some(_) => self.peer(now).is_some_and(|b| !b.store_ok),
        }
    }

    /// A phone answered a probe at `now` (`ok`), or none did.
    pub fn handle_probe(&mut self, now: Instant, ok: bool) {
        if ok {
            self.probed = Some(now);
        }
    }

    /// Whether this node sees its LAN at `now`: it has no peer, or it heard the peer, or a phone
    /// answered, recently. An ineligible node neither leads nor claims.
    pub fn eligible(&self, now: Instant) -> bool {
        let phone = self
            .probed
            .is_some_and(|t| now.saturating_duration_since(t) <= self.fresh_for);
        self.peer.is_none() || phone || self.peer(now).is_some()
    }

    /// How long a beat counts after it arrived.
    pub fn fresh_for(&self) -> Duration {
        self.fresh_for
    }

    /// Whether the store is reachable here, as last told.
    pub fn store_ok(&self) -> bool {
        self.store_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRESH: Duration = Duration::from_secs(3);

    fn pair() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    fn beat(node: &str, store_ok: bool) -> Beat {
        Beat {
            site: "north".into(),
            node: node.into(),
            store_ok,
            leader: false,
            token: 0,
            storeless: Vec::new(),
            ringing: Vec::new(),
        }
    }

    #[test]
    fn a_claim_the_peer_left_ringing_is_orphaned_only_once_the_peer_is_silent() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut a = PeerView::new("north", "a", &pair(), FRESH);
        let mut b = PeerView::new("north", "b", &pair(), FRESH);
        b.handle_ringing("9.tick", true);
        a.handle_beat(t0, b.beat(true, 3)).unwrap();
        // A looks after that beat: it may predate the claim, so A waits for the next one.
        let since = t0 + s(1) / 2;
        assert_eq!(a.peer_ringing("9.tick", since, since), PeerRinging::Unknown);
        // B's next beat says it rings it: alive and paging, left alone.
        a.handle_beat(t0 + s(1), b.beat(true, 3)).unwrap();
        assert_eq!(
            a.peer_ringing("9.tick", since, t0 + s(1)),
            PeerRinging::Ringing
        );
        // Its page ended (its `done` may wait for the store): left alone too.
        b.handle_ringing("9.tick", false);
        a.handle_beat(t0 + s(2), b.beat(true, 3)).unwrap();
        assert_eq!(
            a.peer_ringing("9.tick", since, t0 + s(2)),
            PeerRinging::Ended
        );
        // B goes silent (killed or paused mid-page): orphaned once its last beat has lapsed.
        b.handle_ringing("12.tick", true);
        a.handle_beat(t0 + s(3), b.beat(true, 3)).unwrap();
        let since = t0 + s(4);
        assert_eq!(
            a.peer_ringing("12.tick", since, since),
            PeerRinging::Unknown
        );
        let lapsed = t0 + s(3) + FRESH + Duration::from_millis(1);
        assert_eq!(
            a.peer_ringing("12.tick", since, lapsed),
            PeerRinging::Orphaned
        );
        // Never heard at all: orphaned.
        let c = PeerView::new("north", "a", &pair(), FRESH);
        assert_eq!(c.peer_ringing("9.tick", t0, t0), PeerRinging::Orphaned);
    }

    #[test]
    fn an_occurrence_rung_without_the_store_is_told_to_the_peer() {
        let t0 = Instant::now();
        let mut a = PeerView::new("north", "a", &pair(), FRESH);
        let mut b = PeerView::new("north", "b", &pair(), FRESH);
        for i in 0..(STORELESS_KEPT + 2) {
            a.handle_rang_storeless(&format!("{i}.tick"));
        }
        let sent = a.beat(false, 0);
        assert_eq!(sent.storeless.len(), STORELESS_KEPT);
        assert!(Beat::decode(&sent.encode()).is_ok(), "a full beat fits");
        b.handle_beat(t0, sent).unwrap();
        assert!(b.peer_rang_storeless(&format!("{}.tick", STORELESS_KEPT + 1)));
        assert!(!b.peer_rang_storeless("0.tick"));
    }

    #[test]
    fn only_the_preferred_node_rings_without_the_store_and_only_when_the_peer_lost_it_too() {
        let t0 = Instant::now();
        let mut a = PeerView::new("north", "a", &pair(), FRESH);
        let mut b = PeerView::new("north", "b", &pair(), FRESH);
        // The store is up at both: the claim decides, nobody rings without it.
        for v in [&mut a, &mut b] {
            v.handle_store(t0, true);
        }
        a.handle_beat(t0, beat("b", true)).unwrap();
        b.handle_beat(t0, beat("a", true)).unwrap();
        assert!(!a.rings_without_store(t0) && !b.rings_without_store(t0));
        // Only A lost the store: B still claims, so A must not ring.
        a.handle_store(t0, false);
        assert!(!a.rings_without_store(t0));
        // Both lost it, and each hears the other say so: A rings, B does not.
        b.handle_store(t0, false);
        a.handle_beat(t0, beat("b", false)).unwrap();
        b.handle_beat(t0, beat("a", false)).unwrap();
        assert!(a.rings_without_store(t0));
        assert!(!b.rings_without_store(t0));
        // The heartbeat cut as well (a double fault): A no longer knows, and misses.
        assert!(!a.rings_without_store(t0 + FRESH + Duration::from_millis(1)));
    }

    #[test]
    fn a_node_that_hears_neither_its_peer_nor_a_phone_is_ineligible() {
        let t0 = Instant::now();
        let mut a = PeerView::new("north", "a", &pair(), FRESH);
        assert!(!a.eligible(t0), "nothing heard yet");
        a.handle_probe(t0, true);
        assert!(a.eligible(t0));
        let later = t0 + FRESH + Duration::from_millis(1);
        a.handle_probe(later, false);
        assert!(!a.eligible(later), "the phones went quiet");
        a.handle_beat(later, beat("b", true)).unwrap();
        assert!(a.eligible(later), "the peer is heard");
        let alone = PeerView::new("north", "a", &["a".into()], FRESH);
        assert!(alone.eligible(later), "a node alone is always eligible");
    }

    #[test]
    fn a_node_alone_rings_without_the_store() {
        let t0 = Instant::now();
        let mut v = PeerView::new("north", "a", &["a".into()], FRESH);
        v.handle_store(t0, false);
        assert!(v.rings_without_store(t0));
        v.handle_store(t0, true);
        assert!(!v.rings_without_store(t0));
    }

    #[test]
    fn beats_from_elsewhere_or_oversized_are_refused() {
        let t0 = Instant::now();
        let mut a = PeerView::new("north", "a", &pair(), FRESH);
        let mut other_site = beat("b", false);
        other_site.site = "south".into();
        assert!(a.handle_beat(t0, other_site).is_err());
        assert!(a.handle_beat(t0, beat("a", false)).is_err());
        assert!(a.handle_beat(t0, beat("c", false)).is_err());
        assert!(a.peer(t0).is_none());
        let big = vec![b' '; BEAT_MAX_BYTES + 1];
        assert!(Beat::decode(&big).unwrap_err().contains("at most"));
        assert!(Beat::decode(b"{\"site\":1}").is_err());
        let b = beat("b", true);
        assert_eq!(Beat::decode(&b.encode()).unwrap(), b);
    }

    #[test]
    fn a_beat_says_the_token_only_while_leading() {
        let t0 = Instant::now();
        let mut a = PeerView::new("north", "a", &pair(), FRESH);
        a.handle_store(t0, true);
        assert_eq!(a.beat(true, 7).token, 7);
        assert_eq!(a.beat(false, 7).token, 0);
        assert!(a.beat(false, 7).store_ok);
    }

    #[test]
    fn a_new_leader_claims_early_only_once_its_beats_all_said_the_store_answers() {
        let t0 = Instant::now();
        let mut a = PeerView::new("north", "a", &pair(), FRESH);
        assert!(!a.claims_early(t0), "the store not seen yet");
        a.handle_store(t0, true);
        assert!(
            !a.claims_early(t0 + FRESH),
            "a beat saying 'down' may still be fresh"
        );
        let later = t0 + FRESH + Duration::from_millis(1);
        assert!(a.claims_early(later));
        a.handle_store(later, true);
        assert!(a.claims_early(later), "answering again keeps the start");
        a.handle_store(later, false);
        a.handle_store(later, true);
        assert!(!a.claims_early(later + FRESH), "a break starts over");
        assert!(a.claims_early(later + FRESH + Duration::from_millis(1)));
    }
}
