//! Helpers of the import, payment and direct-donation screen tests: multipart uploads, form
//! posts with the session's CSRF token, CP932 files.

#![allow(dead_code)] // each test file uses a different part

use reqwest::{Client, Response};

use crate::support::TestApp;

/// A multipart body with text fields and one file field named `file`; returns (content type, body).
pub fn multipart(fields: &[(&str, &str)], file_name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----furusato-test-boundary-7f3a";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads `file` to `path` (multipart, CSRF token in the query string as the forms do).
pub async fn upload(
    app: &TestApp,
    client: &Client,
    path: &str,
    fields: &[(&str, &str)],
    file_name: &str,
    file: &[u8],
) -> Response {
    let csrf = app.csrf(client, "/account").await;
    let (ct, body) = multipart(fields, file_name, file);
    client
        .post(app.url(&format!("{path}?_csrf={csrf}")))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .expect("upload")
}

/// Posts a urlencoded form with the session's CSRF token.
pub async fn post(app: &TestApp, client: &Client, path: &str, fields: &[(&str, &str)]) -> Response {
    let csrf = app.csrf(client, "/account").await;
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("_csrf", csrf.as_str()));
    client
        .post(app.url(path))
        .form(&all)
        .send()
        .await
        .expect("post")
}

/// The `Location` of a redirect.
pub fn location(resp: &Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Text in CP932 (panics on characters CP932 cannot encode).
pub fn cp932(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let replaced = furusato_intake::export::encode_cp932(text, &mut out);
    assert_eq!(replaced, 0, "test text must be CP932-encodable");
    out
}

/// A small ふるさとチョイス-style file: (寄附者番号, 氏名, フリガナ, 金額, 入金日).
pub fn choice_file(rows: &[(&str, &str, &str, &str, &str)]) -> String {
    let mut s = String::from(
        "寄附者番号,申込日,入金日,氏名,フリガナ,〒,都道府県,市区町村,町名・番地,電話番号,寄附金額,寄附金の払込方法\r\n",
    );
    for (id, name, kana, amount, paid) in rows {
        s.push_str(&format!(
            "{id},2026-01-05,{paid},{name},{kana},980-0000,宮城県,仙台市青葉区,見本通り1-2,022-000-0001,\"{amount}\",クレジットカード\r\n"
        ));
    }
    s
}

/// The text of the element with `id`.
pub fn by_id(html: &str, id: &str) -> String {
    let needle = format!("id=\"{id}\"");
    let Some(at) = html.find(&needle) else {
        return String::new();
    };
    let open_end = at + html[at..].find('>').unwrap_or(0) + 1;
    let close = open_end + html[open_end..].find("</").unwrap_or(0);
    html[open_end..close].trim().to_string()
}
