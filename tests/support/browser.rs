//! A real Chromium driven through ChromeDriver's W3C WebDriver protocol (JSON over HTTP), for
//! the console's browser tests: open pages, fill and submit forms, read text, take
//! screenshots.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// The key WebDriver names an element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A ChromeDriver process (Debian's `chromium-driver`), stopped when dropped.
pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Driver {
    /// Starts ChromeDriver on a free port.
    pub async fn start() -> Driver {
        let port = super::free_port();
        let driver = [
            "chromedriver",
            "/usr/bin/chromedriver",
            "/usr/lib/chromium/chromedriver",
        ]
        .into_iter()
        .find(|d| Command::new(d).arg("--version").output().is_ok())
        .expect("ChromeDriver is installed (.ci/run installs chromium-driver)");
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ChromeDriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver { child, base, http }
    }

    /// A new headless browser window of `width` × `height`, in Simplified Chinese.
    pub async fn browser(&self, width: u32, height: u32) -> Browser {
        let profile = std::env::temp_dir().join(format!(
            "heatline-console-browser-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--lang=zh-CN", "--hide-scrollbars", "--force-device-scale-factor=1",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.display()),
            ]}
        }}});
        let answer: Value = self
            .http
            .post(format!("{}/session", self.base))
            .json(&capabilities)
            .send()
            .await
            .expect("ChromeDriver answers")
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a browser session: {answer}"))
            .to_owned();
        let browser = Browser {
            http: self.http.clone(),
            session: format!("{}/session/{session}", self.base),
        };
        // The window's inner size is the page's viewport.
        browser
            .call(
                "POST",
                "/window/rect",
                json!({"width": width, "height": height}),
            )
            .await;
        browser
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window.
pub struct Browser {
    http: reqwest::Client,
    session: String,
}

impl Browser {
    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.session);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let answer: Value = request
            .send()
            .await
            .expect("ChromeDriver answers")
            .json()
            .await
            .unwrap();
        answer["value"].clone()
    }

    /// Opens `url` and waits for it to load.
    pub async fn open(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url })).await;
    }

    /// The first element matching a CSS selector, waiting up to ten seconds for it.
    pub async fn find(&self, css: &str) -> String {
        for _ in 0..100 {
            let found = self
                .call(
                    "POST",
                    "/element",
                    json!({"using": "css selector", "value": css}),
                )
                .await;
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no element {css} on {}: {}",
            self.url().await,
            self.text("body").await
        );
    }

    /// Types `text` into the element matching `css` (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call("POST", &format!("/element/{id}/clear"), json!({}))
            .await;
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// Chooses the option with `value` in the select matching `css`.
    pub async fn choose(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"))
            .await;
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call("POST", &format!("/element/{id}/click"), json!({}))
            .await;
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let found = self
            .call(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        let Some(id) = found[ELEMENT].as_str() else {
            return String::new();
        };
        self.call("GET", &format!("/element/{id}/text"), Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits up to `seconds` for the element matching `css` to show `wanted`; answers its text.
    pub async fn wait_for_text(&self, css: &str, wanted: &str, seconds: u64) -> String {
        let mut text = String::new();
        for _ in 0..seconds * 5 {
            text = self.text(css).await;
            if text.contains(wanted) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{css} never showed {wanted:?}; it shows: {text}");
    }

    /// The page's address now.
    pub async fn url(&self) -> String {
        self.call("GET", "/url", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs a script in the page and answers its result.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// A Chrome DevTools command through ChromeDriver (geolocation, for instance).
    pub async fn devtools(&self, command: &str, params: Value) -> Value {
        self.call(
            "POST",
            "/goog/cdp/execute",
            json!({"cmd": command, "params": params}),
        )
        .await
    }

    /// Saves a screenshot of the window to `path`, checks it is not blank (a page with text
    /// and colour in it, not one flat colour), and answers its size in bytes.
    pub async fn screenshot(&self, path: &Path) -> usize {
        let data = self.call("GET", "/screenshot", Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("a screenshot"))
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &png).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        let pixels = &pixels[..frame.buffer_size()];
        let step = frame.color_type.samples();
        let first = &pixels[..step];
        let differing = pixels
            .chunks(step)
            .filter(|p| p.iter().zip(first).any(|(a, b)| a.abs_diff(*b) > 24))
            .count();
        let share = differing as f64 / (pixels.len() / step) as f64;
        assert!(
            share > 0.02,
            "the screenshot {} is blank ({:.1} % of it differs from its corner)",
            path.display(),
            share * 100.0
        );
        png.len()
    }

    /// The value of the page's cookie `name`, if it has one.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        let found = self
            .call("GET", &format!("/cookie/{name}"), Value::Null)
            .await;
        found["value"].as_str().map(str::to_owned)
    }

    /// Forgets the page's cookie `name`.
    pub async fn delete_cookie(&self, name: &str) {
        self.call("DELETE", &format!("/cookie/{name}"), Value::Null)
            .await;
    }

    /// Gives a file input the file at `path` (as a user choosing it would).
    pub async fn upload(&self, css: &str, path: &Path) {
        let id = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": path.display().to_string() }),
        )
        .await;
    }

    /// Closes the window.
    pub async fn close(self) {
        self.call("DELETE", "", Value::Null).await;
    }
}
