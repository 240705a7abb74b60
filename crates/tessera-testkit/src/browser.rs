//! A minimal browser for flow tests: it keeps cookies, follows redirects within Tessera, parses
//! the hosted pages' HTML forms and posts their fields back, as a person's browser would.
//!
//! One simplification, stated here because it is deliberate: the test server speaks plain HTTP on
//! loopback, and this browser sends `Secure` cookies to it, as real browsers do for
//! `http://127.0.0.1` (a secure context).

use scraper::{Html, Selector};
use std::collections::BTreeMap;
use std::sync::Mutex;
use url::Url;

/// Where a navigation ended.
#[derive(Debug, Clone)]
pub enum Landing {
    /// A Tessera page (HTML), with its status.
    Page(Page),
    /// A redirect out of Tessera: to the client's redirect URI.
    Client(Url),
}

impl Landing {
    /// The page; panics if the navigation left Tessera.
    pub fn page(self) -> Page {
        match self {
            Landing::Page(page) => page,
            Landing::Client(url) => panic!("expected a Tessera page, was redirected to {url}"),
        }
    }

    /// The client URL; panics if the navigation stayed on a Tessera page.
    pub fn client(self) -> Url {
        match self {
            Landing::Client(url) => url,
            Landing::Page(page) => panic!(
                "expected a redirect to the client, got page {} {}:\n{}",
                page.status, page.url, page.html
            ),
        }
    }
}

/// A rendered page.
#[derive(Debug, Clone)]
pub struct Page {
    /// Its URL.
    pub url: Url,
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The HTML.
    pub html: String,
}

/// A form found on a page.
#[derive(Debug, Clone)]
pub struct Form {
    /// Absolute action URL.
    pub action: Url,
    /// Fields in document order (hidden inputs, text inputs, …), by name.
    pub fields: BTreeMap<String, String>,
}

impl Page {
    /// The first `<form method="post">` on the page with its fields' current values.
    pub fn form(&self) -> Form {
        self.form_where("a form", |_| true)
    }

    /// The first form with a field named `name` (pages with several forms: one per action).
    pub fn form_with(&self, name: &str) -> Form {
        let selector = Selector::parse(&format!("input[name=\"{name}\"]")).unwrap();
        self.form_where(&format!("a form with a field {name:?}"), |form| {
            form.select(&selector).next().is_some()
        })
    }

    /// The first form whose action ends with `path`.
    pub fn form_to(&self, path: &str) -> Form {
        self.form_where(&format!("a form posting to {path}"), |form| {
            form.value()
                .attr("action")
                .is_some_and(|action| action.ends_with(path))
        })
    }

    fn form_where(&self, what: &str, wanted: impl Fn(&scraper::ElementRef) -> bool) -> Form {
        let doc = Html::parse_document(&self.html);
        let form_sel = Selector::parse("form").unwrap();
        let input_sel = Selector::parse("input").unwrap();
        let form = doc
            .select(&form_sel)
            .find(|form| wanted(form))
            .unwrap_or_else(|| panic!("no {what} on {}:\n{}", self.url, self.html));
        assert_eq!(
            form.value()
                .attr("method")
                .map(str::to_lowercase)
                .as_deref(),
            Some("post")
        );
        let action = self
            .url
            .join(form.value().attr("action").unwrap_or(""))
            .expect("action URL");
        let mut fields = BTreeMap::new();
        for input in form.select(&input_sel) {
            if let Some(name) = input.value().attr("name") {
                fields.insert(
                    name.to_owned(),
                    input.value().attr("value").unwrap_or("").to_owned(),
                );
            }
        }
        Form { action, fields }
    }

    /// Whether the page's text contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.html.contains(needle)
    }
}

/// A browser with its own cookie jar.
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    origin: Url,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl Browser {
    /// A browser with no cookies, for the Tessera server at `base_url`.
    pub fn new(base_url: &str) -> Self {
        Self {
            http: tessera_server::http_client::https_client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            origin: Url::parse(base_url).expect("base URL"),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    /// A browser with no cookies whose every request says, as a reverse proxy would, that it
    /// comes from `client_address` (`X-Forwarded-For`).
    pub fn forwarded_for(base_url: &str, client_address: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            client_address
                .parse()
                .expect("an address is a header value"),
        );
        Self {
            http: tessera_server::http_client::https_client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .expect("http client"),
            ..Self::new(base_url)
        }
    }

    /// A browser with no cookies that sends `user_agent` as its `User-Agent` on every request.
    pub fn with_user_agent(base_url: &str, user_agent: &str) -> Self {
        Self {
            http: tessera_server::http_client::https_client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(user_agent)
                .build()
                .expect("http client"),
            ..Self::new(base_url)
        }
    }

    /// The value of a cookie the browser holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    /// Removes every cookie (a new private window).
    pub fn clear_cookies(&self) {
        self.cookies.lock().unwrap().clear();
    }

    /// Sets a cookie directly (to simulate an attacker's or a stale one).
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    /// GETs `url` and follows redirects until a Tessera page or a redirect to the client.
    pub async fn get(&self, url: &str) -> Landing {
        let request = self.http.get(url);
        self.follow(request).await
    }

    /// Submits `form` with its fields, overridden or extended by `set`.
    pub async fn submit(&self, form: &Form, set: &[(&str, &str)]) -> Landing {
        let mut fields = form.fields.clone();
        for (name, value) in set {
            fields.insert((*name).to_owned(), (*value).to_owned());
        }
        self.post_form(form.action.as_str(), &fields).await
    }

    /// POSTs arbitrary form fields to `url` (for replay and forgery tests).
    pub async fn post_form(&self, url: &str, fields: &BTreeMap<String, String>) -> Landing {
        let request = self.http.post(url).form(fields);
        self.follow(request).await
    }

    async fn follow(&self, mut request: reqwest::RequestBuilder) -> Landing {
        for _ in 0..10 {
            let built = request.build().expect("request");
            let url = built.url().clone();
            let mut built = built;
            if let Some(cookie) = self.cookie_header(&url) {
                built
                    .headers_mut()
                    .insert(reqwest::header::COOKIE, cookie.parse().unwrap());
            }
            let response = self.http.execute(built).await.expect("request sent");
            self.store_cookies(&response);
            let status = response.status();
            if status.is_redirection() {
                let location = response.headers()["location"].to_str().unwrap();
                let next = url.join(location).expect("redirect URL");
                if next.origin() != self.origin.origin() {
                    return Landing::Client(next);
                }
                request = self.http.get(next);
                continue;
            }
            let headers = response.headers().clone();
            let html = response.text().await.expect("body");
            return Landing::Page(Page {
                url,
                status: status.as_u16(),
                headers,
                html,
            });
        }
        panic!("too many redirects");
    }

    fn cookie_header(&self, url: &Url) -> Option<String> {
        if url.origin() != self.origin.origin() {
            return None;
        }
        let cookies = self.cookies.lock().unwrap();
        (!cookies.is_empty()).then(|| {
            cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn store_cookies(&self, response: &reqwest::Response) {
        let mut cookies = self.cookies.lock().unwrap();
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let value = value.to_str().expect("ASCII cookie");
            let mut parts = value.split(';');
            let (name, val) = parts
                .next()
                .unwrap()
                .trim()
                .split_once('=')
                .expect("name=value");
            let expired = parts.any(|attr| attr.trim().eq_ignore_ascii_case("max-age=0"));
            if expired {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), val.to_owned());
            }
        }
    }
}
