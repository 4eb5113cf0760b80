//! Each screen of the console as server-rendered HTML (maud escapes every value it is given):
//! one layout (skip link, navigation, the signed-in user, a status line) around one screen's
//! frame. The frames hold no data; `console.js` fills them from the API, keyed by the element
//! ids written here.

use maud::{DOCTYPE, Markup, html};

/// A screen of the console, with what the server itself knows for it.
#[derive(Debug, Clone)]
pub enum Screen<'a> {
    /// `/signin`.
    SignIn,
    /// `/`: page a zone now.
    PageNow,
    /// `/live/{id}`: one page's phones as they change (or as they ended).
    Live {
        /// The page id from the path (shown as text, never trusted as markup).
        page: &'a str,
    },
    /// `/history`.
    History,
    /// `/zones`: zones and phones, read-only.
    Zones {
        /// The configuration file, when the CLI told.
        config_path: Option<&'a str>,
    },
    /// `/bells`.
    Bells,
    /// `/sounds`: sounds and ringtones.
    Sounds,
    /// `/recordings`.
    Recordings,
    /// `/users`: the user's own password; users and the audit log for admins.
    Users,
    /// `/health`.
    Health,
    /// `/cucm`: the phones discovered from CUCM, their last refresh, a refresh now for admins.
    Cucm,
    /// `/cluster`: the district's nodes (leader, token, lag, last contact) and its history.
    Cluster,
}

/// The navigation: path, label, the screen key it marks current.
const NAV: &[(&str, &str, &str)] = &[
    ("/", "Page now", "page"),
    ("/history", "History", "history"),
    ("/zones", "Zones & phones", "zones"),
    ("/cucm", "CUCM", "cucm"),
    ("/cluster", "District", "cluster"),
    ("/bells", "Bells", "bells"),
    ("/sounds", "Sounds", "sounds"),
    ("/recordings", "Recordings", "recordings"),
    ("/users", "Users", "users"),
    ("/health", "Health", "health"),
];

impl Screen<'_> {
    /// The key `console.js` dispatches on (`<main data-screen>`), and the title.
    fn key_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Screen::SignIn => ("signin", "Sign in"),
            Screen::PageNow => ("page", "Page now"),
            Screen::Live { .. } => ("live", "Live page"),
            Screen::History => ("history", "History"),
            Screen::Zones { .. } => ("zones", "Zones & phones"),
            Screen::Bells => ("bells", "Bells"),
            Screen::Sounds => ("sounds", "Sounds"),
            Screen::Recordings => ("recordings", "Recordings"),
            Screen::Users => ("users", "Users"),
            Screen::Health => ("health", "Health"),
            Screen::Cucm => ("cucm", "Phones from CUCM"),
            Screen::Cluster => ("cluster", "District"),
        }
    }
}

/// What the layout shows beyond the screen: the CUCM link only when the config has `[cucm]`,
/// the district's only with `[cluster]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Layout {
    /// The config has `[cucm]`: the navigation links the CUCM screen.
    pub cucm: bool,
    /// The config has `[cluster]`: the navigation links the district screen.
    pub cluster: bool,
}

/// The whole HTML document of `screen`, in a layout without the CUCM link.
pub fn render(screen: &Screen) -> String {
    render_in(screen, Layout::default())
}

/// The whole HTML document of `screen` in `layout`.
pub fn render_in(screen: &Screen, layout_options: Layout) -> String {
    let (key, title) = screen.key_and_title();
    let body = match screen {
        Screen::SignIn => sign_in(),
        Screen::PageNow => page_now(),
        Screen::Live { page } => live(page),
        Screen::History => history(),
        Screen::Zones { config_path } => zones(*config_path),
        Screen::Bells => bells(),
        Screen::Sounds => sounds(),
        Screen::Recordings => recordings(),
        Screen::Users => users(),
        Screen::Health => health(),
        Screen::Cucm => cucm(),
        Screen::Cluster => cluster(),
    };
    layout(key, title, body, layout_options).into_string()
}

fn layout(key: &str, title: &str, body: Markup, options: Layout) -> Markup {
    let shown = |k: &str| match k {
        "cucm" => options.cucm || key == k,
        "cluster" => options.cluster || key == k,
        _ => true,
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · zonecast" }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "zonecast" }
                    @if key != "signin" {
                        nav aria-label="Screens" {
                            ul {
                                @for (href, label, k) in NAV.iter().filter(|(_, _, k)| shown(k)) {
                                    li {
                                        @if *k == key {
                                            a href=(href) aria-current="page" data-nav=(k) { (label) }
                                        } @else {
                                            a href=(href) data-nav=(k) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                        div.who {
                            span #whoami {}
                            button #signout type="button" { "Sign out" }
                        }
                    }
                }
                main #main data-screen=(key) tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
                p #toast role="status" aria-live="polite" {}
            }
        }
    }
}

fn sign_in() -> Markup {
    html! {
        form #signin-form.card {
            div.field {
                label for="signin-user" { "User name" }
                input #signin-user name="user" type="text" autocomplete="username" required autofocus;
            }
            div.field {
                label for="signin-password" { "Password" }
                input #signin-password name="password" type="password" autocomplete="current-password" required;
            }
            button.primary type="submit" { "Sign in" }
            p #signin-error.error role="alert" {}
        }
        details.card {
            summary { "Sign in with the API token (administrators, machines)" }
            form #token-form {
                div.field {
                    label for="token" { "API token" }
                    input #token name="token" type="password" autocomplete="off" required;
                }
                button type="submit" { "Use the token" }
                p.muted { "Kept in this tab only, until it closes or you sign out." }
            }
        }
    }
}

fn page_now() -> Markup {
    html! {
        form #page-form.card {
            div.field {
                label for="zone-search" { "Find a zone" }
                input #zone-search type="search" autocomplete="off" placeholder="Type part of its name";
            }
            fieldset #zone-list.choices {
                legend { "Zone (recent first)" }
                p.muted #zone-empty { "Loading zones…" }
            }
            div.field {
                label for="sound" { "What to play" }
                select #sound name="sound" required {
                    option value="" { "Loading sounds…" }
                }
            }
            p.muted #mic-note hidden {
                "The browser asks to use the microphone; the page lasts until you press Stop."
            }
            div.field {
                label for="banner" { "Banner on the phones' screens (optional, up to 32 characters)" }
                input #banner name="banner" type="text" maxlength="32" autocomplete="off";
            }
            div.field {
                label for="priority" { "Priority" }
                select #priority name="priority" {
                    option value="normal" selected { "Normal" }
                    option value="urgent" { "Urgent" }
                    option value="emergency" { "Emergency (overrides other pages)" }
                }
            }
            button #page-start.big.primary type="submit" { "Page" }
        }
        section #live-panel.card hidden aria-labelledby="live-heading" {
            h2 #live-heading { "On the air" }
            button #page-stop.big.danger type="button" { "Stop" }
            (live_view())
        }
    }
}

/// The live state of one page (shared by the page-now and live screens).
fn live_view() -> Markup {
    html! {
        div.live {
            p #live-title {}
            dl #live-totals.totals {}
            p #live-status role="status" {}
            div #live-groups {}
        }
    }
}

fn live(page: &str) -> Markup {
    html! {
        section #live-page.card data-page=(page) {
            p { "Page " code #live-id { (page) } " · " a href="/history" { "History" } }
            button #page-stop.big.danger type="button" { "Stop" }
            (live_view())
        }
    }
}

fn history() -> Markup {
    html! {
        form #history-filters.card.filters role="search" {
            div.field {
                label for="f-zone" { "Zone" }
                select #f-zone { option value="" { "All zones" } }
            }
            div.field {
                label for="f-user" { "Started by" }
                input #f-user type="text" autocomplete="off";
            }
            div.field {
                label for="f-date" { "Date" }
                input #f-date type="date";
            }
            div.field {
                label for="f-outcome" { "Outcome" }
                select #f-outcome {
                    option value="" { "Any" }
                    option value="all" { "Every phone reached" }
                    option value="some" { "Some phones failed" }
                    option value="none" { "No phone reached" }
                    option value="running" { "Still running" }
                }
            }
        }
        div.scroll {
            table #history-table {
                caption { "Pages, newest first" }
                thead { tr { th { "When" } th { "Zone" } th { "What" } th { "Who" } th { "Reached" } th { "Ended" } th { "Phones" } } }
                tbody #history-rows {}
            }
        }
        section #history-detail.card hidden aria-live="polite" {}
        h2 { "Calls" }
        p.hint { "Dialled-in pages ([sip]): calls in progress first, then the last ended ones." }
        div.scroll {
            table {
                thead { tr { th { "When" } th { "Caller" } th { "Number" } th { "Zone" } th { "Mode" } th { "Duration" } th { "Outcome" } } }
                tbody #calls {}
            }
        }
        h2 { "Bells fired and missed" }
        div.scroll {
            table {
                thead { tr { th { "Due" } th { "Bell" } th { "Outcome" } th { "Detail" } } }
                tbody #bells-history {}
            }
        }
        h2 { "Recoveries" }
        p.hint { "Phones a page left listening when its process was killed, stopped at the next start." }
        div.scroll {
            table {
                thead { tr { th { "When" } th { "Phone" } th { "Page" } th { "Outcome" } } }
                tbody #recoveries {}
            }
        }
    }
}

fn zones(config_path: Option<&str>) -> Markup {
    html! {
        p.card {
            "Read-only here: the configuration file is the source of truth"
            @if let Some(p) = config_path { ": " code #config-path { (p) } }
            ". Edit it and restart the server to change zones, phones or bells."
        }
        h2 { "Zones" }
        div.scroll {
            table {
                thead { tr { th { "Zone" } th { "Mode" } th { "Phones" } th { "Banner" } th { "Members" } } }
                tbody #zones-rows {}
            }
        }
        h2 { "Phones" }
        p.muted { "Phones that failed their last page come first." }
        div.scroll {
            table {
                thead { tr { th { "Phone" } th { "Model" } th { "Address" } th { "Zones" } th { "Last page" } th { "Now" } } }
                tbody #phones-rows {}
            }
        }
    }
}

fn bells() -> Markup {
    html! {
        p #bells-tz.muted {}
        h2 { "Next firings" }
        div.scroll {
            table {
                thead { tr { th { "When (local)" } th { "Bell" } th { "Zones" } th { "Plays" } } }
                tbody #bells-next {}
            }
        }
        h2 { "Ring a bell now" }
        ul #bells-ring.buttons {}
        h2 { "The week ahead" }
        div #bells-week.week {}
        h2 { "Missed" }
        div.scroll {
            table {
                thead { tr { th { "Due" } th { "Bell" } th { "Why" } } }
                tbody #bells-missed {}
            }
        }
    }
}

fn sounds() -> Markup {
    html! {
        form #upload-form.card {
            h2 { "Upload a sound" }
            p.muted { "WAV, MP3, FLAC or Ogg Vorbis; it is checked and levelled before it is kept." }
            div.field {
                label for="upload-name" { "Name (letters, digits, - and _)" }
                input #upload-name type="text" required pattern="[A-Za-z0-9_\\-]{1,64}" maxlength="64" autocomplete="off";
            }
            div.field {
                label for="upload-file" { "File" }
                input #upload-file type="file" accept="audio/*" required;
            }
            button.primary type="submit" { "Upload" }
            progress #upload-progress max="100" value="0" hidden {}
            p #upload-status role="status" {}
        }
        h2 { "Sounds" }
        ul #sounds-list.sounds {}
        form #ringtone-form.card {
            h2 { "Make a ringtone" }
            p.muted { "Upload a sound; get Cisco ring files and the ring list, with the rules applied." }
            div.field {
                label for="ringtone-name" { "Name (up to 21 letters, digits, - and _)" }
                input #ringtone-name type="text" required pattern="[A-Za-z0-9_\\-]{1,21}" maxlength="21" autocomplete="off";
            }
            div.field {
                label for="ringtone-file" { "File" }
                input #ringtone-file type="file" accept="audio/*" required;
            }
            button.primary type="submit" { "Convert" }
            progress #ringtone-progress max="100" value="0" hidden {}
            div #ringtone-result role="status" {}
        }
    }
}

fn recordings() -> Markup {
    html! {
        form #record-form.card {
            h2 { "Listen to a phone" }
            div.field {
                label for="record-phone" { "Phone" }
                select #record-phone required {}
            }
            div.field {
                label for="record-seconds" { "Seconds" }
                input #record-seconds type="number" min="1" max="600" value="10" required;
            }
            button.primary type="submit" { "Record" }
            p #record-status role="status" {}
        }
        div.scroll {
            table {
                thead { tr { th { "Recording" } th { "Phone" } th { "Listen" } th { "Download" } } }
                tbody #recordings-rows {}
            }
        }
    }
}

fn users() -> Markup {
    html! {
        form #password-form.card {
            h2 { "Change my password" }
            div.field {
                label for="pw-old" { "Current password" }
                input #pw-old type="password" autocomplete="current-password" required;
            }
            div.field {
                label for="pw-new" { "New password" }
                input #pw-new type="password" autocomplete="new-password" required minlength="8";
            }
            button type="submit" { "Change it" }
            p #pw-status role="status" {}
        }
        section #users-admin hidden {
            h2 { "Users" }
            div.scroll {
                table {
                    thead { tr { th { "User" } th { "Role" } th { "Zones" } th { "Change" } } }
                    tbody #users-rows {}
                }
            }
            form #user-form.card {
                h2 { "Add a user" }
                div.field { label for="nu-name" { "Name" } input #nu-name type="text" required autocomplete="off"; }
                div.field {
                    label for="nu-role" { "Role" }
                    select #nu-role {
                        option value="operator" { "Operator: pages its zones" }
                        option value="viewer" { "Viewer: reads only" }
                        option value="admin" { "Admin: everything" }
                    }
                }
                div.field { label for="nu-zones" { "Zones (comma-separated; empty: all)" } input #nu-zones type="text" autocomplete="off"; }
                div.field { label for="nu-password" { "Password" } input #nu-password type="password" autocomplete="new-password" required; }
                button.primary type="submit" { "Add" }
                p #user-status role="status" {}
            }
            h2 { "Audit log" }
            div.scroll {
                table {
                    thead { tr { th { "When" } th { "Who" } th { "What" } } }
                    tbody #audit-rows {}
                }
            }
        }
    }
}

fn cucm() -> Markup {
    html! {
        section.card aria-labelledby="cucm-refresh-heading" {
            h2 #cucm-refresh-heading { "The table" }
            dl #cucm-summary.totals {}
            p #cucm-error.error role="alert" {}
            button #cucm-refresh.primary type="button" hidden { "Refresh now" }
            p #cucm-status role="status" {}
            p.muted { "Phones are rediscovered on the [cucm] refresh interval; unregistered phones and those with web access off stay listed and are reported as such when paged." }
        }
        div.field {
            label for="cucm-filter" { "Find a phone (name, number, address, pool, model)" }
            input #cucm-filter type="search" autocomplete="off";
        }
        p #cucm-count.muted {}
        div.scroll {
            table #cucm-table {
                caption { "Phones as CUCM lists them" }
                thead { tr { th { "Phone" } th { "Model" } th { "Address" } th { "Numbers" } th { "Device pool" } th { "Registered" } th { "Web access" } } }
                tbody #cucm-rows {}
            }
        }
    }
}

fn cluster() -> Markup {
    html! {
        section.card aria-labelledby="cluster-nodes-heading" {
            h2 #cluster-nodes-heading { "Sites and nodes" }
            p #cluster-error.error role="alert" {}
            div.scroll {
                table #cluster-table {
                    caption { "Every node's last status at the hub" }
                    thead { tr { th { "Site" } th { "Node" } th { "Leader" } th { "Token" } th { "Lag (records)" } th { "Last contact" } } }
                    tbody #cluster-rows {}
                }
            }
            p.muted { "A node writes its status every 2 seconds; lag counts the journal records it has not yet had acknowledged by its site's stream." }
        }
        section.card aria-labelledby="cluster-history-heading" {
            h2 #cluster-history-heading { "The district's history" }
            div.scroll {
                table #district-table {
                    caption { "Pages and bells of every site, newest first" }
                    thead { tr { th { "When" } th { "Site" } th { "Node" } th { "What" } th { "Zone or bell" } th { "Outcome" } } }
                    tbody #district-rows {}
                }
            }
        }
    }
}

fn health() -> Markup {
    html! {
        dl #health-list.card {}
        p.muted { "Refreshed every 5 seconds." }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_a_path_is_escaped_in_the_html() {
        let html = render(&Screen::Live {
            page: "<script>alert(1)</script>\"'",
        });
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        let html = render(&Screen::Zones {
            config_path: Some("/etc/<b>z</b>.toml"),
        });
        assert!(html.contains("/etc/&lt;b&gt;z&lt;/b&gt;.toml"), "{html}");
    }

    #[test]
    fn every_screen_names_its_key_and_marks_its_link_current() {
        let html = render(&Screen::Bells);
        assert!(html.contains("data-screen=\"bells\""));
        assert!(
            html.contains("href=\"/bells\" aria-current=\"page\""),
            "{html}"
        );
        assert_eq!(html.matches("aria-current").count(), 1);
        // The CUCM screen is linked only when the config has [cucm].
        assert!(!html.contains("href=\"/cucm\""), "{html}");
        assert!(!html.contains("href=\"/cluster\""), "{html}");
        let with = render_in(
            &Screen::Bells,
            Layout {
                cucm: true,
                cluster: true,
            },
        );
        assert!(
            with.contains("href=\"/cluster\" data-nav=\"cluster\""),
            "{with}"
        );
        assert!(with.contains("href=\"/cucm\" data-nav=\"cucm\""), "{with}");
        let html = render(&Screen::Cucm);
        assert!(
            html.contains("href=\"/cucm\" aria-current=\"page\""),
            "{html}"
        );
        assert!(html.contains("id=\"cucm-refresh\""));
        // The sign-in screen has no navigation to screens that need a session.
        let html = render(&Screen::SignIn);
        assert!(!html.contains("aria-current"));
        assert!(html.contains("id=\"signin-form\""));
    }
}
