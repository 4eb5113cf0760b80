//! Paging from a phone: emulated phones press Services on `zonecast serve` (real HTTP, the
//! headers a phone sends, cookies, Refresh), pick a zone, speak (their emulated microphone),
//! and end it with a soft key or by hanging up; every phone is released after. Menus follow
//! each requester's model and display; permissions decide who may page what.

mod common;

use common::cli_setup::{Setup, Spec, Zone};
use common::server::*;
use serde_json::Value;
use zonecast::phone_sim::browser::ServiceView;

const MESSAGES: &str = "[[message]]\nname = \"drill\"\ntitle = \"Fire drill\"\nsource = \"alert\"\n\
                     zones = [\"first\"]\nconfirm = true\n\n\
                     [[message]]\nname = \"lunch\"\ntitle = \"Lunch bell\"\nsource = \"bell\"\n\
                     zones = [\"first\"]\n\n";

fn services_setup(n: usize, extra_models: &[&str]) -> Setup {
    let engine = format!(
        "multicast_pool = \"239.255.{}.0/24\"\n",
        rand::random::<u8>()
    );
    // p001 and the extra phones may page `all` and `first` and start both messages.
    let mut who = vec!["\"p001\"".to_owned()];
    who.extend((0..extra_models.len()).map(|i| format!("\"extra{i}\"")));
    let tables = format!(
        "[server]\ntoken_env = \"{TOKEN_ENV}\"\ndata_dir = \"data\"\n\n{MESSAGES}\
         [[permission]]\nphones = [{}]\nzones = [\"all\", \"first\"]\n\
         messages = [\"drill\", \"lunch\"]\n\n",
        who.join(", ")
    );
    Setup::new(&Spec {
        phones: n,
        extra_models,
        engine: &engine,
        tables: &tables,
        zones: &[
            Zone {
                name: "all",
                first: Some(n),
                banner: Some("Announcement"),
            },
            Zone {
                name: "first",
                first: Some(2),
                banner: None,
            },
        ],
        ..Spec::default()
    })
}

fn open(s: &Setup, srv: &Server, phone: &str) -> ServiceView {
    let url = format!("{}/services/menu?name=#DEVICENAME#", srv.url);
    s.block_on(s.fleet().open_service(phone, &url))
        .unwrap_or_else(|e| panic!("{phone} opens the menu: {e:?}\n{}", srv.log()))
}

fn select(s: &Setup, phone: &str, item: usize) -> ServiceView {
    s.block_on(s.fleet().select(phone, item))
        .unwrap_or_else(|e| panic!("{phone} selects {item}: {e:?}"))
}

fn key(s: &Setup, phone: &str, name: &str) -> ServiceView {
    s.block_on(s.fleet().softkey(phone, name))
        .unwrap_or_else(|e| panic!("{phone} presses {name}: {e:?}"))
        .unwrap_or_else(|| panic!("{phone}: {name} showed nothing"))
}

fn item_names(v: &ServiceView) -> Vec<String> {
    v.items.iter().map(|i| i.name.clone()).collect()
}

fn key_names(v: &ServiceView) -> Vec<String> {
    v.softkeys.iter().map(|k| k.name.clone()).collect()
}

#[test]
fn a_phone_pages_a_zone_with_its_microphone_and_ends_it_every_phone_released() {
    let s = services_setup(4, &[]);
    let srv = Server::start(&s);
    let mic_hz = zonecast::phone_sim::SimConfig::uniform(1, "CP-8851").mic_tone_hz;

    // Services → the menu of what p001 may do.
    let menu = open(&s, &srv, "p001");
    assert!(menu.kind.contains("Menu"), "{menu:?}");
    let names = item_names(&menu);
    assert_eq!(
        names[..4],
        ["Page: all", "Page: first", "Fire drill", "Lunch bell"],
        "{names:?}"
    );
    let req = s.fleet().last_service_request("p001").unwrap();
    let device = s.fleet().phone("p001").unwrap().device;
    assert!(
        req.url.contains(&device),
        "#DEVICENAME# expanded: {}",
        req.url
    );
    // "Page: all" → a confirmation with Start and Cancel.
    let confirm = select(&s, "p001", 1);
    assert_eq!(confirm.kind, "CiscoIPPhoneText", "{confirm:?}");
    assert!(
        key_names(&confirm).iter().any(|k| k == "Start"),
        "{confirm:?}"
    );
    // The menu's cookie names the phone on the next steps.
    let req = s.fleet().last_service_request("p001").unwrap();
    assert!(
        req.headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("cookie") && v.contains("zcphone=")),
        "{req:?}"
    );
    // Start: the talker's status screen refreshes and has End.
    let status = key(&s, "p001", "Start");
    assert!(key_names(&status).iter().any(|k| k == "End"), "{status:?}");
    assert!(
        status.refresh.is_some(),
        "a status screen refreshes: {status:?}"
    );
    s.wait_until("p002..p004 hear p001's microphone", |r| {
        r.phones[0].transmitting
            && r.phones[1..4].iter().all(|p| {
                p.heard.last().is_some_and(|h| {
                    h.active
                        && h.rx
                            .summary
                            .frequency_hz
                            .is_some_and(|f| (f - mic_hz).abs() < 15.0)
                })
            })
    });
    let (_, pages) = api(&srv, "GET", "/api/pages", None);
    let page = &pages["pages"][0];
    assert_eq!(page["requested_by"], "phone:p001");
    assert_eq!(page["source"], "mic:p001");
    // While it runs the menu offers to stop it.
    let again = open(&s, &srv, "p001");
    assert!(item_names(&again)[0].starts_with("Stop page"), "{again:?}");
    // End: every phone released, the talker too.
    let status = select(&s, "p001", 1);
    assert!(
        status.text.as_deref().unwrap_or("").contains("ended"),
        "{status:?}"
    );
    s.wait_until("every phone released", |r| {
        listening(r) == 0 && !r.phones[0].transmitting
    });
    let id = page["page"].as_str().unwrap().to_owned();
    let detail = wait_for(&srv, "the page in the journal", 10, || {
        let (_, v) = api(&srv, "GET", &format!("/api/history/{id}"), None);
        v["ended_by"].is_string().then_some(v)
    });
    assert_eq!(detail["ended_by"], "ended by p001", "{detail}");
    let outcomes: Vec<&Value> = detail["outcomes"].as_array().unwrap().iter().collect();
    assert_eq!(outcomes.len(), 4);
    assert!(outcomes.iter().all(|o| o["state"] == "stopped"), "{detail}");

    // Again, ended by going on-hook: the talker stops sending and the page ends by itself.
    open(&s, &srv, "p001");
    select(&s, "p001", 2); // Page: first
    key(&s, "p001", "Start");
    s.wait_until("p002 hears p001", |r| {
        listening(r) == 1 && r.phones[0].transmitting
    });
    assert!(s.hang_up("p001"));
    s.wait_until("every phone released after on-hook", |r| {
        listening(r) == 0 && !r.phones[0].transmitting
    });
    let hist = wait_for(&srv, "the on-hook page in the journal", 10, || {
        let (_, v) = api(&srv, "GET", "/api/history", None);
        v["pages"][0]["ended_by"].is_string().then_some(v)
    });
    assert_eq!(
        hist["pages"][0]["ended_by"], "the talker stopped sending",
        "{hist}"
    );
}

#[test]
fn messages_start_from_the_phone_emergency_ones_after_confirmation() {
    let s = services_setup(3, &[]);
    let srv = Server::start(&s);
    open(&s, &srv, "p001");
    // "Fire drill" asks first; Cancel goes back to the menu and nothing plays.
    let ask = select(&s, "p001", 3);
    assert_eq!(ask.kind, "CiscoIPPhoneText");
    assert!(
        ask.text.as_deref().unwrap().contains("Fire drill"),
        "{ask:?}"
    );
    let back = key(&s, "p001", "Cancel");
    assert!(back.kind.contains("Menu"), "{back:?}");
    assert_eq!(listening(&s.report()), 0);
    select(&s, "p001", 3);
    let playing = key(&s, "p001", "Start");
    assert!(
        key_names(&playing).iter().any(|k| k == "End"),
        "{playing:?}"
    );
    s.wait_until("the drill heard in `first`", |r| {
        r.phones[..2]
            .iter()
            .all(|p| p.heard.last().is_some_and(|h| h.rx.summary.packets > 10))
    });
    // A plain message starts at once (once the drill has ended at the server too: while a page
    // runs, the menu offers its End first and the items move down).
    s.wait_until("the drill ended by itself", |r| listening(r) == 0);
    wait_for(&srv, "no page running at the server", 10, || {
        let (_, v) = api(&srv, "GET", "/api/pages", None);
        v["pages"]
            .as_array()
            .is_some_and(|p| p.is_empty())
            .then_some(())
    });
    open(&s, &srv, "p001");
    let started = select(&s, "p001", 4);
    assert!(
        key_names(&started).iter().any(|k| k == "End"),
        "{started:?}"
    );
    let (_, hist) = wait_for(&srv, "two pages by p001", 10, || {
        let v = api(&srv, "GET", "/api/history", None);
        (v.1["pages"].as_array().is_some_and(|a| a.len() == 2)).then_some(v)
    });
    assert!(
        hist["pages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["requested_by"] == "phone:p001")
    );
}

#[test]
fn menus_follow_the_phone_and_permissions_refuse_the_rest() {
    let s = services_setup(3, &["CP-8865", "CP-7841"]);
    let srv = Server::start(&s);
    let colour = open(&s, &srv, "extra0");
    let mono = open(&s, &srv, "extra1");
    let h8865 = s.fleet().last_service_request("extra0").unwrap();
    let h7841 = s.fleet().last_service_request("extra1").unwrap();
    let display = |r: &zonecast::phone_sim::browser::RequestLog| {
        r.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-CiscoIPPhoneDisplay"))
            .map(|(_, v)| v.clone())
    };
    assert_ne!(display(&h8865), display(&h7841));
    // The colour phone gets an icon menu, the greyscale one a plain menu: same entries.
    assert_ne!(colour.kind, mono.kind, "{colour:?}\n{mono:?}");
    assert_eq!(item_names(&colour), item_names(&mono));
    // p002 has no permission: a screen says so, and it cannot start anything by URL either.
    let refused = open(&s, &srv, "p002");
    assert_eq!(refused.kind, "CiscoIPPhoneText");
    assert!(
        refused.text.as_deref().unwrap().contains("No zones"),
        "{refused:?}"
    );
    let url = format!("{}/services/talk/start?name=#DEVICENAME#&zone=all", srv.url);
    let v = s.block_on(s.fleet().open_service("p002", &url)).unwrap();
    assert!(v.text.as_deref().unwrap().contains("may not page"), "{v:?}");
    // Somebody else cannot borrow p001's name: the request must come from p001's address.
    let device = s.fleet().phone("p001").unwrap().device;
    let (st, body) = call(
        "GET",
        &format!("{}/services/talk/start?name={device}&zone=all", srv.url),
        None,
        None,
    );
    assert_eq!(st, 200);
    assert!(body.as_str().unwrap().contains("own address"), "{body}");
    assert_eq!(listening(&s.report()), 0);
}

#[test]
fn a_banner_typed_on_the_phone_shows_on_the_listeners() {
    let s = services_setup(3, &[]);
    let srv = Server::start(&s);
    open(&s, &srv, "p001");
    select(&s, "p001", 1); // Page: all
    let form = key(&s, "p001", "Banner");
    assert_eq!(form.kind, "CiscoIPPhoneInput", "{form:?}");
    assert_eq!(form.input_items[0].query_param, "text");
    let status = s
        .block_on(s.fleet().submit("p001", &[("text", "Visitors & guests")]))
        .unwrap();
    assert!(key_names(&status).iter().any(|k| k == "End"), "{status:?}");
    s.wait_until("the banner on p002 and p003", |r| {
        r.phones[1..]
            .iter()
            .all(|p| p.status_banner.as_deref() == Some("Visitors & guests"))
    });
    let status = key(&s, "p001", "End");
    assert!(
        status.text.as_deref().unwrap_or("").contains("ended"),
        "{status:?}"
    );
    s.wait_until("every phone released", |r| {
        listening(r) == 0 && !r.phones[0].transmitting
    });
}

#[test]
fn a_banner_the_phones_cannot_show_is_refused_on_the_phone_and_nothing_starts() {
    let s = services_setup(3, &[]);
    let srv = Server::start(&s);
    open(&s, &srv, "p001");
    select(&s, "p001", 1); // Page: all
    key(&s, "p001", "Banner");
    let refused = s
        .block_on(s.fleet().submit("p001", &[("text", "Fire\u{7}drill")]))
        .unwrap();
    assert_eq!(refused.kind, "CiscoIPPhoneText", "{refused:?}");
    let text = refused.text.as_deref().unwrap_or("");
    assert!(
        text.contains("banner") && text.contains("U+0007"),
        "the screen names the field and the character: {refused:?}"
    );
    assert!(
        !key_names(&refused).iter().any(|k| k == "End"),
        "{refused:?}"
    );
    let r = s.report();
    assert_eq!(listening(&r), 0, "no phone was paged");
    assert!(
        !r.phones[0].transmitting,
        "the talker's microphone stayed off"
    );
    assert!(r.phones.iter().all(|p| p.status_banner.is_none()));
}

#[test]
fn the_paging_screens_focus_events_reach_the_page_report() {
    let s = services_setup(3, &[]);
    let srv = Server::start(&s);
    open(&s, &srv, "p001");
    select(&s, "p001", 1); // Page: all
    let status = key(&s, "p001", "Start");
    assert_eq!(
        status.app_id.as_deref(),
        Some("zonecast-page"),
        "{status:?}"
    );
    assert_eq!(status.app_events.len(), 4, "{status:?}");
    // The user minimizes the paging screen; the server's App:RequestFocus brings it back.
    {
        let _rt = s.enter();
        assert!(s.fleet().minimize("p001"));
    }
    let page = wait_for(
        &srv,
        "minimized, then focus gained, in p001's report",
        15,
        || {
            let (_, v) = api(&srv, "GET", "/api/pages", None);
            let events: Vec<String> = v["pages"][0]["report"]["phones"]
                .as_array()?
                .iter()
                .find(|p| p["name"] == "p001")?["app_events"]
                .as_array()?
                .iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect();
            let m = events.iter().position(|e| e == "minimized")?;
            events[m..]
                .iter()
                .any(|e| e == "focusGained")
                .then_some(v["pages"][0].clone())
        },
    );
    // The phone's own Exit closes the screen; the page goes on until End.
    let id = page["page"].as_str().unwrap().to_owned();
    s.wait_until("p002 and p003 listening", |r| listening(r) == 2);
    let (st, _) = api(&srv, "DELETE", &format!("/api/pages/{id}"), None);
    assert_eq!(st, 202);
    s.wait_until("every phone released", |r| {
        listening(r) == 0 && !r.phones[0].transmitting
    });
}

/// Two phones, zone `all` of both and `first` of p001, with `tables` (a site of a district).
fn district_site(tables: &str) -> Setup {
    Setup::new(&Spec {
        phones: 2,
        engine: "",
        tables,
        zones: &Zone::all_and_first(1, None),
        ..Spec::default()
    })
}

#[test]
fn a_permission_may_name_a_bell_of_a_district_zone() {
    // A bell of the district zone `everyone` (a district page at every site when it rings)
    // and a bell of this site's zone `first`; p001 may ring them from its phone.
    let config = |bells: &str| {
        let tables = format!(
            "[server]\ntoken_env = \"{TOKEN_ENV}\"\ndata_dir = \"data\"\n\n\
             [schedule]\ntimezone = \"UTC\"\n\n\
             [[bell]]\nname = \"assembly\"\ncron = \"0 0 8 * * *\"\nzones = [\"everyone\"]\n\
             source = \"tone:900:1\"\n\n\
             [[bell]]\nname = \"recess\"\ncron = \"0 0 10 * * *\"\nzones = [\"first\"]\n\
             source = \"bell\"\n\n\
             [[permission]]\nphones = [\"p001\"]\nzones = [\"first\"]\nmessages = [{bells}]\n\n\
             [cluster]\nurls = [\"nats://127.0.0.1:1\"]\nsite = \"north\"\nnode = \"a\"\n\n\
             [cluster.district]\neveryone = [\"north:all\", \"south:all\"]\n\n"
        );
        let s = district_site(&tables);
        let loaded = zonecast::config::Config::load(s.path("zonecast.toml"));
        (s, loaded)
    };
    let (_s, loaded) = config("\"recess\"");
    let c = loaded.expect("a bell of this site's zone may be rung from a phone");
    assert!(c.services.message("recess").is_some());
    let (_s, loaded) = config("\"recess\", \"assembly\"");
    let c = loaded.expect("a bell of a district zone may be rung from a phone");
    let m = c
        .services
        .message("assembly")
        .expect("the bell as a message");
    assert_eq!(m.zones, ["everyone"]);
}

#[test]
fn a_bell_of_a_district_zone_pressed_on_a_phone_starts_the_district_page() {
    // Site north (this node, alone on its nats-server) and site south (no node: unreachable).
    // The district zone `first` even shares its name with a zone of this site: the bell rings
    // the district's, as the schedule would.
    let nats = common::nats::Nats::start();
    let tables = format!(
        "[server]\ntoken_env = \"{TOKEN_ENV}\"\ndata_dir = \"data\"\n\n\
         [schedule]\ntimezone = \"UTC\"\n\n\
         [[bell]]\nname = \"assembly\"\ncron = \"0 0 8 1 1 *\"\nzones = [\"first\"]\n\
         source = \"tone:900:30\"\n\n\
         [[permission]]\nphones = [\"p001\"]\nmessages = [\"assembly\"]\n\n\
         [cluster]\nurls = [\"nats://127.0.0.1:{}\"]\nsite = \"north\"\nnode = \"a\"\n\n\
         [cluster.district]\nfirst = [\"north:all\", \"south:all\"]\n\n",
        nats.port
    );
    let s = district_site(&tables);
    let srv = Server::start(&s);
    // The node answers its site's part once it leads the site.
    wait_for(&srv, "this node to lead site north", 30, || {
        let (_, v) = api(&srv, "GET", "/api/cluster", None);
        (v["here"]["leader"] == true).then_some(())
    });
    let menu = open(&s, &srv, "p001");
    assert_eq!(item_names(&menu), vec!["Bell: assembly"], "{menu:?}");
    // The district page's own status screen: the sites asked, End, and a refresh.
    let asked = select(&s, "p001", 1);
    let text = asked.text.clone().unwrap_or_default();
    assert_eq!(text, "Asked of 2 sites of first.", "{asked:?}");
    assert!(key_names(&asked).iter().any(|k| k == "End"), "{asked:?}");
    let again = asked
        .refresh
        .clone()
        .expect("a status screen refreshes")
        .url;
    let id = again
        .split("id=")
        .nth(1)
        .map(|t| t.split('&').next().unwrap_or(t).to_owned())
        .expect("the district page's id in the refresh");
    assert!(id.starts_with("dp-"), "{again}");
    // This site's part: both phones of its zone `all`, not just `first`'s one.
    s.wait_until("both phones of north:all hear the bell", |r| {
        listening(r) == 2
    });
    // Refreshed: how far it got, south unreachable (no node), until the user ends it.
    let status = wait_for(&srv, "south reported unreachable on the phone", 30, || {
        let v = s
            .block_on(s.fleet().open_service("p001", &again))
            .expect("the status screen");
        let text = v.text.clone().unwrap_or_default();
        text.contains("1 of 2 sites paged, 1 unreachable")
            .then_some(v)
    });
    assert_eq!(
        status.title.as_deref(),
        Some("Paging first (district)"),
        "{status:?}"
    );
    assert!(
        status
            .text
            .as_deref()
            .unwrap_or("")
            .contains("2 of 2 phones reached"),
        "{status:?}"
    );
    let ended = key(&s, "p001", "End");
    assert_eq!(ended.title.as_deref(), Some("Page ended"), "{ended:?}");
    s.wait_until("both phones released", |r| listening(r) == 0);
    let report = wait_for(&srv, "the district page's report", 30, || {
        let (_, v) = api(&srv, "GET", &format!("/api/pages/{id}"), None);
        let sites = v["district"]["sites"].as_array()?.clone();
        let status = |site: &str| {
            sites
                .iter()
                .find(|x| x["site"] == site)
                .and_then(|x| x["status"].as_str())
                .map(str::to_owned)
        };
        (status("north").as_deref() == Some("ended")
            && status("south").as_deref() == Some("unreachable"))
        .then_some(v["district"].clone())
    });
    assert_eq!(report["zone"], "first", "{report}");
    assert_eq!(report["totals"]["accepted"], 2, "{report}");
    let north = report["sites"]
        .as_array()
        .and_then(|x| x.iter().find(|x| x["site"] == "north"))
        .expect("north");
    assert_eq!(north["ended_by"], "ended by p001", "{report}");
    let (_, v) = api(&srv, "GET", "/api/history", None);
    let pages = v["pages"].as_array().expect("pages");
    assert_eq!(pages.len(), 1, "{v}");
    assert_eq!(pages[0]["zone"], "all", "{v}");
}
