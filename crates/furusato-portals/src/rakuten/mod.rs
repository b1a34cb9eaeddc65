//! 楽天 RMS RakutenPayOrderAPI (楽天ペイ受注API): client, models and an RMS-shaped mock server.
//!
//! * [`model`] — serde models with RMS's exact key casing, [`model::Price`] for the `-9999`
//!   sentinel, raw JSON kept in [`model::FetchedOrder`].
//! * [`datetime`] — `YYYY-MM-DDThh:mm:ss+0900` formatting/parsing, license expiry format.
//! * [`window`] — ≤ 63-day search windows and halving for the 15,000-hit cap.
//! * [`client`] — [`RmsClient`]: pacing, retries (reads only), search/get/expiry.
//! * [`error`] — [`RmsError`] with English `Display` and Japanese `message_ja()`.
//! * [`mock`] — [`mock::MockRms`], an axum server speaking the same API over an in-memory store,
//!   with fault injection and a deterministic order generator.
//!
//! Typical import:
//! ```no_run
//! # async fn demo() -> Result<(), furusato_portals::rakuten::RmsError> {
//! use furusato_portals::rakuten::{ProgressFilter, RmsClient, RmsConfig, SearchWindow};
//! let client = RmsClient::new(RmsConfig::new("SP…", "SL…"))?;
//! let now = time::OffsetDateTime::now_utc();
//! let window = SearchWindow::by_order_datetime(now - time::Duration::days(2), now);
//! let numbers = client.search_order_numbers(window, &ProgressFilter::All).await?;
//! let fetched = client.get_orders(&numbers).await?;
//! for order in &fetched.orders { let _ = (&order.model.order_number, &order.raw); }
//! # Ok(()) }
//! ```

pub mod client;
pub mod datetime;
pub mod error;
pub mod mock;
pub mod model;
pub mod window;

pub use client::{ClientStats, GetOrdersResult, RmsClient, RmsConfig, UndecodableOrder};
pub use error::RmsError;
pub use model::{FetchedOrder, OrderModel, Price};
pub use window::{DateType, ProgressFilter, SearchWindow, split_windows};
