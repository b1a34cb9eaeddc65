//! Errors of the RMS client, with an English `Display` that says what to do and a Japanese
//! [`RmsError::message_ja`] for screens. No variant ever carries the license key or the service
//! secret: the client redacts them from every text it puts into an error.

use std::fmt;
use std::time::Duration;

use super::model::MessageModel;

/// Well-known gateway codes.
pub mod codes {
    /// Un-Authorised: wrong or expired license key / secret.
    pub const GA0001: &str = "GA0001";
    /// The API function is not enabled for the shop (利用機能編集).
    pub const ES04_01: &str = "ES04-01";
    /// Unsupported Media Type (Content-Type without `charset=utf-8`).
    pub const GK0003: &str = "GK0003";
    /// Request Model is invalid (body is not the expected JSON).
    pub const C007: &str = "C007";
}

/// Everything that can go wrong talking to RMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RmsError {
    /// The RMS gateway rejected the call with a `{"Results":{"errorCode":…}}` envelope.
    Gateway {
        /// HTTP status (401, 403, 415, …).
        http_status: u16,
        /// `GA0001`, `ES04-01`, `GK0003`, `C007`, ….
        code: String,
        /// Message from RMS (redacted).
        message: String,
    },
    /// A non-success HTTP status without a recognised body.
    Http {
        /// HTTP status.
        status: u16,
        /// First characters of the body (redacted).
        body_excerpt: String,
    },
    /// `ERROR` entries in `MessageModelList` (HTTP 400, or even HTTP 200).
    Business(Vec<MessageModel>),
    /// The response was not the JSON we expected.
    Decode {
        /// Which call / what we were decoding.
        context: String,
        /// Parser message.
        detail: String,
        /// First characters of the body (redacted).
        excerpt: String,
    },
    /// Connection refused/reset, DNS, TLS, … (after retries for reads).
    Transport(String),
    /// No answer within the configured timeout (after retries for reads).
    Timeout {
        /// The per-request timeout.
        after: Duration,
    },
    /// RMS kept answering 429 until the retries ran out.
    RateLimited {
        /// Attempts made (first try + retries).
        attempts: u32,
    },
    /// Even a one-second search window matches more than 15,000 orders, so some orders are
    /// unreachable through searchOrder.
    WindowTooDense {
        /// Window start (RMS format).
        start: String,
        /// Window end (RMS format).
        end: String,
        /// `totalRecordsAmount` reported by RMS.
        total: u64,
    },
    /// The call was refused before reaching RMS (bad configuration or arguments).
    InvalidRequest(String),
}

impl RmsError {
    /// The gateway code, if this is a gateway error.
    pub fn gateway_code(&self) -> Option<&str> {
        match self {
            RmsError::Gateway { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True when the license key / secret was rejected (`GA0001`): the sync must stop and an
    /// operator must issue a new key.
    pub fn is_auth(&self) -> bool {
        self.gateway_code() == Some(codes::GA0001)
    }

    /// True for transient failures that a later run may not hit (429, 5xx, timeout, transport).
    pub fn is_transient(&self) -> bool {
        match self {
            RmsError::Http { status, .. } => *status == 429 || *status >= 500,
            RmsError::Transport(_) | RmsError::Timeout { .. } | RmsError::RateLimited { .. } => {
                true
            }
            RmsError::Gateway { http_status, .. } => *http_status >= 500,
            _ => false,
        }
    }

    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> String {
        match self {
            RmsError::Gateway { code, .. } if code == codes::GA0001 => {
                "楽天RMSがライセンスキーを拒否しました（GA0001）。キーが誤っているか期限切れです。RMSで新しいライセンスキーを発行し、自治体の認証情報を更新してください。".to_owned()
            }
            RmsError::Gateway { code, .. } if code == codes::ES04_01 => {
                "この機能は楽天RMSで利用が許可されていません（ES04-01）。RMSの「WEB APIサービス → 利用機能編集」で受注検索・受注情報取得（rpay.order.searchOrder / getOrder）を有効にしてください。".to_owned()
            }
            RmsError::Gateway { code, .. } if code == codes::GK0003 => {
                "楽天RMSが要求の形式を受け付けませんでした（GK0003）。システムの不具合の可能性があります。管理者に連絡してください。".to_owned()
            }
            RmsError::Gateway { code, .. } if code == codes::C007 => {
                "楽天RMSが要求内容を不正と判断しました（C007）。システムの不具合の可能性があります。管理者に連絡してください。".to_owned()
            }
            RmsError::Gateway {
                code, http_status, ..
            } => format!(
                "楽天RMSのゲートウェイがエラーを返しました（{code}、HTTP {http_status}）。時間をおいて再実行し、続く場合は管理者に連絡してください。"
            ),
            RmsError::Http { status, .. } if *status >= 500 => format!(
                "楽天RMSが一時的に応答できません（HTTP {status}）。時間をおいて再実行してください。"
            ),
            RmsError::Http { status, .. } => format!(
                "楽天RMSが想定外の応答を返しました（HTTP {status}）。管理者に連絡してください。"
            ),
            RmsError::Business(msgs) => {
                let first = msgs
                    .iter()
                    .find(|m| m.is_error())
                    .or(msgs.first())
                    .map(|m| {
                        format!(
                            "{}（{}）",
                            m.message.as_deref().unwrap_or("-"),
                            m.message_code.as_deref().unwrap_or("-")
                        )
                    })
                    .unwrap_or_else(|| "-".to_owned());
                format!("楽天RMSが要求をエラーとして返しました: {first}")
            }
            RmsError::Decode { .. } => {
                "楽天RMSの応答を解釈できませんでした。時間をおいて再実行し、続く場合は管理者に連絡してください。".to_owned()
            }
            RmsError::Transport(_) => {
                "楽天RMSに接続できませんでした。ネットワーク接続を確認して再実行してください。"
                    .to_owned()
            }
            RmsError::Timeout { .. } => {
                "楽天RMSの応答が時間内にありませんでした。時間をおいて再実行してください。"
                    .to_owned()
            }
            RmsError::RateLimited { .. } => {
                "楽天RMSのアクセス制限（429）が続いています。時間をおいて再実行してください。"
                    .to_owned()
            }
            RmsError::WindowTooDense { start, end, total } => format!(
                "{start}〜{end} の1秒間に{total}件の注文があり、楽天RMSの検索上限（15,000件）を超えるため取得できません。管理者に連絡してください。"
            ),
            RmsError::InvalidRequest(_) => {
                "楽天RMS連携の設定または指定内容に誤りがあります。設定を確認してください。"
                    .to_owned()
            }
        }
    }
}

impl fmt::Display for RmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RmsError::Gateway {
                code,
                http_status,
                message,
            } => match code.as_str() {
                codes::GA0001 => write!(
                    f,
                    "Rakuten rejected the license key (GA0001): it is wrong or expired — issue a new key in RMS and update the municipality's credentials (HTTP {http_status}: {message})"
                ),
                codes::ES04_01 => write!(
                    f,
                    "Rakuten says this API function is not enabled for the shop (ES04-01) — enable rpay.order.searchOrder/getOrder in RMS under WEB API service → 利用機能編集 (HTTP {http_status}: {message})"
                ),
                codes::GK0003 => write!(
                    f,
                    "Rakuten rejected the request media type (GK0003): the client must send 'Content-Type: application/json; charset=utf-8' — this is a bug, report it (HTTP {http_status}: {message})"
                ),
                codes::C007 => write!(
                    f,
                    "Rakuten rejected the request body as invalid (C007) — this is a bug, report it (HTTP {http_status}: {message})"
                ),
                _ => write!(
                    f,
                    "Rakuten gateway error {code} (HTTP {http_status}: {message}) — retry later; if it persists, check the RMS API status and the shop's API settings"
                ),
            },
            RmsError::Http {
                status,
                body_excerpt,
            } => {
                if *status >= 500 {
                    write!(
                        f,
                        "Rakuten RMS answered HTTP {status} (server error or maintenance) — retry later (body: {body_excerpt})"
                    )
                } else {
                    write!(
                        f,
                        "Rakuten RMS answered unexpected HTTP {status} — check the base URL and the client version (body: {body_excerpt})"
                    )
                }
            }
            RmsError::Business(msgs) => {
                write!(f, "Rakuten RMS rejected the request:")?;
                for m in msgs.iter().filter(|m| m.is_error()).take(5) {
                    write!(
                        f,
                        " [{}] {}",
                        m.message_code.as_deref().unwrap_or("?"),
                        m.message.as_deref().unwrap_or("")
                    )?;
                }
                write!(
                    f,
                    " — fix the request parameters (dates must be YYYY-MM-DDThh:mm:ss+0900, windows ≤ 63 days)"
                )
            }
            RmsError::Decode {
                context,
                detail,
                excerpt,
            } => write!(
                f,
                "could not decode the Rakuten RMS {context} response ({detail}); body starts with: {excerpt:?} — retry later; if it persists the API format changed, report it"
            ),
            RmsError::Transport(msg) => write!(
                f,
                "could not reach Rakuten RMS ({msg}) — check the network/proxy and the base URL, then retry"
            ),
            RmsError::Timeout { after } => write!(
                f,
                "Rakuten RMS did not answer within {} ms — retry later or raise the timeout",
                after.as_millis()
            ),
            RmsError::RateLimited { attempts } => write!(
                f,
                "Rakuten RMS kept throttling (HTTP 429) after {attempts} attempts — wait and retry, and keep the request interval at ≥ 1 s per shop"
            ),
            RmsError::WindowTooDense { start, end, total } => write!(
                f,
                "the one-second window {start}..{end} matches {total} orders, more than the 15,000 searchOrder can return — orders in it cannot be listed; report it"
            ),
            RmsError::InvalidRequest(msg) => {
                write!(
                    f,
                    "invalid RMS request: {msg} — fix the configuration or arguments"
                )
            }
        }
    }
}

impl std::error::Error for RmsError {}

/// Replaces every occurrence of the given secrets by `***` and cuts to `max` characters.
pub(crate) fn redact_excerpt(text: &str, secrets: &[&str], max: usize) -> String {
    let mut s = text.to_owned();
    for secret in secrets {
        if !secret.is_empty() {
            s = s.replace(secret, "***");
        }
    }
    let mut out: String = s.chars().take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ga0001_message_says_what_to_do() {
        let e = RmsError::Gateway {
            http_status: 401,
            code: "GA0001".into(),
            message: "Un-Authorised".into(),
        };
        let s = e.to_string();
        assert!(s.starts_with("Rakuten rejected the license key (GA0001): it is wrong or expired — issue a new key in RMS and update the municipality's credentials"));
        assert!(e.is_auth());
        assert!(!e.is_transient());
        assert!(e.message_ja().contains("ライセンスキー"));
    }

    #[test]
    fn es04_01_message() {
        let e = RmsError::Gateway {
            http_status: 403,
            code: "ES04-01".into(),
            message: "x".into(),
        };
        assert!(e.to_string().contains("not enabled"));
        assert!(e.message_ja().contains("利用機能編集"));
    }

    #[test]
    fn business_lists_error_codes() {
        let e = RmsError::Business(vec![
            MessageModel::new("INFO", "I", "ok"),
            MessageModel::new(
                "ERROR",
                "ORDER_EXT_API_SEARCH_ORDER_ERROR_009",
                "dateTypeの項目を指定して下さい。",
            ),
        ]);
        let s = e.to_string();
        assert!(s.contains("ORDER_EXT_API_SEARCH_ORDER_ERROR_009"));
        assert!(!s.contains("[I]"));
        assert!(e.message_ja().contains("dateType"));
    }

    #[test]
    fn redaction() {
        let s = redact_excerpt("key=SECRETKEY&x=SECRETKEY", &["SECRETKEY", ""], 100);
        assert_eq!(s, "key=***&x=***");
        let long = "あ".repeat(10);
        assert_eq!(redact_excerpt(&long, &[], 3), "あああ…");
    }

    #[test]
    fn transient_classification() {
        assert!(
            RmsError::Http {
                status: 503,
                body_excerpt: String::new()
            }
            .is_transient()
        );
        assert!(
            !RmsError::Http {
                status: 404,
                body_excerpt: String::new()
            }
            .is_transient()
        );
        assert!(
            RmsError::Timeout {
                after: Duration::from_secs(1)
            }
            .is_transient()
        );
        assert!(!RmsError::Business(vec![]).is_transient());
    }
}
