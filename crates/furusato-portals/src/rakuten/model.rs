//! Serde models of the RakutenPayOrderAPI (楽天ペイ受注API) JSON.
//!
//! Key casing follows RMS exactly: scalar fields are camelCase, nested model keys are PascalCase
//! (`OrdererModel`, `PackageModelList`, `SenderModel`, …; `BasketidModelList` has a lower-case
//! "id"). Almost every field is an `Option` because RMS adds, drops and nulls fields per
//! `version`; unknown fields are ignored (no `deny_unknown_fields`). Keep the raw JSON next to
//! the model ([`FetchedOrder`]) for audit.
//!
//! Money fields use [`Price`], which maps the RMS sentinel `-9999` (未確定) to
//! [`Price::Undetermined`] so it can never be mistaken for an amount. Datetimes are kept as the
//! strings RMS sent; use the `*_at()` helpers or [`crate::rakuten::datetime`] to parse them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use super::datetime::{DatetimeError, parse_rms_datetime};

// ---------------------------------------------------------------------------------------------
// Price
// ---------------------------------------------------------------------------------------------

/// The RMS sentinel for "amount not determined yet" (未確定).
pub const UNDETERMINED_SENTINEL: i64 = -9999;

/// A yen amount from RMS, or the `-9999` sentinel meaning 未確定.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Price {
    /// A determined amount in yen.
    Amount(i64),
    /// RMS sent `-9999`: the amount is not determined yet; never post it to accounting.
    Undetermined,
}

impl Price {
    /// Builds a price from the raw RMS number (`-9999` → [`Price::Undetermined`]).
    pub fn from_raw(v: i64) -> Self {
        if v == UNDETERMINED_SENTINEL {
            Price::Undetermined
        } else {
            Price::Amount(v)
        }
    }

    /// The raw RMS number (`Undetermined` → `-9999`).
    pub fn to_raw(self) -> i64 {
        match self {
            Price::Amount(v) => v,
            Price::Undetermined => UNDETERMINED_SENTINEL,
        }
    }

    /// The amount, or `None` when undetermined.
    pub fn amount(self) -> Option<i64> {
        match self {
            Price::Amount(v) => Some(v),
            Price::Undetermined => None,
        }
    }

    /// True for the `-9999` sentinel.
    pub fn is_undetermined(self) -> bool {
        matches!(self, Price::Undetermined)
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.to_raw())
    }
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // RMS sends integers; accept an integral float (e.g. `10000.0`) defensively.
        let v = serde_json::Number::deserialize(d)?;
        if let Some(i) = v.as_i64() {
            return Ok(Price::from_raw(i));
        }
        match v.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Price::from_raw(f as i64)),
            _ => Err(serde::de::Error::custom(format!(
                "expected an integer yen amount, got {v}"
            ))),
        }
    }
}

fn parse_opt(s: &Option<String>) -> Result<Option<OffsetDateTime>, DatetimeError> {
    s.as_deref().map(parse_rms_datetime).transpose()
}

// ---------------------------------------------------------------------------------------------
// Messages, pagination, gateway envelope
// ---------------------------------------------------------------------------------------------

/// One entry of `MessageModelList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MessageModel {
    /// `INFO`, `WARNING` or `ERROR`.
    pub message_type: Option<String>,
    /// e.g. `ORDER_EXT_API_SEARCH_ORDER_INFO_101`.
    pub message_code: Option<String>,
    /// Japanese text from RMS.
    pub message: Option<String>,
    /// Order concerned, when the message is per order (getOrder WARNING/ERROR).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    /// 1-based row number (write functions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_number: Option<i64>,
    /// Shipping row id (updateOrderShipping).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_detail_id: Option<i64>,
    /// Async request id (updateOrderShippingAsync).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl MessageModel {
    /// Builds a message (used by the mock and tests).
    pub fn new(message_type: &str, code: &str, message: &str) -> Self {
        MessageModel {
            message_type: Some(message_type.to_owned()),
            message_code: Some(code.to_owned()),
            message: Some(message.to_owned()),
            ..Default::default()
        }
    }

    /// True for `messageType == "ERROR"`.
    pub fn is_error(&self) -> bool {
        self.message_type.as_deref() == Some("ERROR")
    }

    /// True for `messageType == "WARNING"`.
    pub fn is_warning(&self) -> bool {
        self.message_type.as_deref() == Some("WARNING")
    }
}

/// One sort key of `SortModelList` (`sortColumn` 1 = 注文日時 is the only column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SortModel {
    /// 1 = 注文日時.
    pub sort_column: i32,
    /// 1 = ascending, 2 = descending.
    pub sort_direction: i32,
}

/// `PaginationRequestModel` of searchOrder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PaginationRequestModel {
    /// Records per page (default 30, max 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_records_amount: Option<u32>,
    /// 1-based page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_page: Option<u32>,
    /// Sort order.
    #[serde(rename = "SortModelList", skip_serializing_if = "Option::is_none")]
    pub sort_model_list: Option<Vec<SortModel>>,
}

/// `PaginationResponseModel` of searchOrder. All three fields are `null` on zero hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PaginationResponseModel {
    /// Total matches (may exceed the reachable 15,000).
    pub total_records_amount: Option<u64>,
    /// Total pages.
    pub total_pages: Option<u32>,
    /// Page returned.
    pub request_page: Option<u32>,
}

/// Gateway error envelope `{"Results":{"errorCode":…,"message"|"errorMessage":…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayEnvelope {
    /// The `Results` object.
    #[serde(rename = "Results")]
    pub results: GatewayResults,
}

/// Body of [`GatewayEnvelope`]; both `message` and `errorMessage` are seen in the wild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GatewayResults {
    /// e.g. `GA0001`, `ES04-01`, `GK0003`, `C007`.
    pub error_code: Option<String>,
    /// Message (one spelling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Message (other spelling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl GatewayResults {
    /// Whichever message key was present.
    pub fn text(&self) -> Option<&str> {
        self.message.as_deref().or(self.error_message.as_deref())
    }
}

// ---------------------------------------------------------------------------------------------
// searchOrder
// ---------------------------------------------------------------------------------------------

/// searchOrder request body. Datetimes must be formatted with
/// [`crate::rakuten::datetime::format_rms_datetime`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SearchOrderRequest {
    /// 1 注文日, 2 注文確認日, 3 注文確定日, 4 発送日, 5 発送完了報告日, 6 決済確定日.
    pub date_type: Option<i32>,
    /// `YYYY-MM-DDThh:mm:ss+0900`.
    pub start_datetime: Option<String>,
    /// `YYYY-MM-DDThh:mm:ss+0900`, ≤ 63 days after start.
    pub end_datetime: Option<String>,
    /// Status filter (100…900).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_progress_list: Option<Vec<i32>>,
    /// Sub-status filter (`[-1]` = none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_status_id_list: Option<Vec<i64>>,
    /// 1 通常, 4 定期, 5 頒布会, 6 予約.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_type_list: Option<Vec<i32>>,
    /// Settlement method code filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settlement_method: Option<i32>,
    /// Keyword type (1 商品名 … 9 SKU情報).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_keyword_type: Option<i32>,
    /// Keyword.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_keyword: Option<String>,
    /// Paging and sort.
    #[serde(
        rename = "PaginationRequestModel",
        skip_serializing_if = "Option::is_none"
    )]
    pub pagination_request_model: Option<PaginationRequestModel>,
}

/// searchOrder response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SearchOrderResponse {
    /// Order numbers of the page (`[]` on zero hits, `null` on errors).
    #[serde(rename = "orderNumberList")]
    pub order_number_list: Option<Vec<String>>,
    /// INFO/WARNING/ERROR messages.
    #[serde(rename = "MessageModelList")]
    pub message_model_list: Option<Vec<MessageModel>>,
    /// Paging (fields all `null` on zero hits).
    #[serde(rename = "PaginationResponseModel")]
    pub pagination_response_model: Option<PaginationResponseModel>,
}

// ---------------------------------------------------------------------------------------------
// getOrder
// ---------------------------------------------------------------------------------------------

/// getOrder request body (≤ 100 numbers, `version` required).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GetOrderRequest {
    /// Order numbers (max 100).
    pub order_number_list: Vec<String>,
    /// Response version (3–10); required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

/// getOrder response with each order still as raw JSON (decode with [`OrderModel`]).
#[derive(Debug, Serialize, Deserialize, Default)]
pub struct GetOrderResponse {
    /// Messages, possibly per `orderNumber`.
    #[serde(rename = "MessageModelList")]
    pub message_model_list: Option<Vec<MessageModel>>,
    /// Orders exactly as returned: the bytes RMS sent, not parsed into a `Value` (a sync hashes
    /// and stores them as they are, and decodes [`OrderModel`] straight from them).
    #[serde(rename = "OrderModelList")]
    pub order_model_list: Option<Vec<Box<RawValue>>>,
    /// Echoed version (when the request version ≥ 6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

/// An order as fetched: the typed model and the exact JSON RMS sent (keep it for audit).
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedOrder {
    /// Typed view.
    pub model: OrderModel,
    /// Raw JSON object as received.
    pub raw: Value,
}

/// The order number and 注文日時 of an order whose JSON does not decode into [`OrderModel`]
/// (read loosely: any JSON type, missing fields allowed), to report and keep it.
#[derive(Debug, Default, Deserialize)]
pub struct OrderHead {
    #[serde(rename = "orderNumber", default)]
    order_number: Option<Value>,
    #[serde(rename = "orderDatetime", default)]
    order_datetime: Option<Value>,
}

impl OrderHead {
    /// Reads the two fields of `raw` (an order object as returned by getOrder).
    pub fn of(raw: &RawValue) -> OrderHead {
        serde_json::from_str(raw.get()).unwrap_or_default()
    }

    /// `orderNumber` when it is a string.
    pub fn order_number(&self) -> Option<&str> {
        self.order_number.as_ref().and_then(Value::as_str)
    }

    /// `orderDatetime` when it is a string.
    pub fn order_datetime(&self) -> Option<&str> {
        self.order_datetime.as_ref().and_then(Value::as_str)
    }
}

/// `OrderModel` (注文). The donor is [`OrderModel::orderer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OrderModel {
    /// 注文番号, the natural key (e.g. `502763-20171027-00006701`; suffix width varies).
    pub order_number: String,
    /// 100 注文確認待ち … 900 キャンセル確定.
    pub order_progress: Option<i32>,
    /// Shop sub-status id.
    pub sub_status_id: Option<i64>,
    /// Shop sub-status name.
    pub sub_status_name: Option<String>,
    /// 注文日時.
    pub order_datetime: Option<String>,
    /// 注文確認日時.
    pub shop_order_cfm_datetime: Option<String>,
    /// 注文確定日時.
    pub order_fix_datetime: Option<String>,
    /// 発送指示日時.
    pub shipping_inst_datetime: Option<String>,
    /// 発送完了報告日時.
    pub shipping_cmpl_rpt_datetime: Option<String>,
    /// キャンセル期限日 (`YYYY-MM-DD`).
    pub cancel_due_date: Option<String>,
    /// お届け日指定 (`YYYY-MM-DD`).
    pub delivery_date: Option<String>,
    /// お届け時間帯 code (0, 1, 2, 9 or packed `h1h2`).
    pub shipping_term: Option<i64>,
    /// 備考欄 (`[見出し:]\n値\n` blocks).
    pub remarks: Option<String>,
    /// ギフト配送希望.
    pub gift_check_flag: Option<i32>,
    /// ソーシャルギフト (v10).
    pub social_gift_flag: Option<i32>,
    /// 複数送付先.
    pub several_sender_flag: Option<i32>,
    /// 送付先一致 (1 = single destination = orderer).
    pub equal_sender_flag: Option<i32>,
    /// 離島.
    pub isolated_island_flag: Option<i32>,
    /// 楽天会員.
    pub rakuten_member_flag: Option<i32>,
    /// Device carrier.
    pub carrier_code: Option<i32>,
    /// Mail carrier.
    pub email_carrier_code: Option<i32>,
    /// 1 通常, 4 定期, 5 頒布会, 6 予約.
    pub order_type: Option<i32>,
    /// 予約番号 / 定期購入番号.
    pub reserve_number: Option<String>,
    /// 定期・頒布会 delivery count.
    pub reserve_delivery_count: Option<i64>,
    /// Warning display type.
    pub caution_display_type: Option<i32>,
    /// Warning detail type (v6+).
    pub caution_display_detail_type: Option<i32>,
    /// 楽天確認中.
    pub rakuten_confirm_flag: Option<i32>,
    /// 商品合計 (+ wrapping).
    pub goods_price: Option<Price>,
    /// 外税合計 (≤ v7).
    pub goods_tax: Option<Price>,
    /// 送料.
    pub postage_price: Option<Price>,
    /// 代引料.
    pub delivery_price: Option<Price>,
    /// 決済手数料.
    pub payment_charge: Option<Price>,
    /// e.g. 0.1.
    pub payment_charge_tax_rate: Option<f64>,
    /// 合計金額 (expected 寄附金額, unverified).
    pub total_price: Option<Price>,
    /// 請求金額 (after points/coupons).
    pub request_price: Option<Price>,
    /// Coupon total.
    pub coupon_all_total_price: Option<Price>,
    /// Shop coupons.
    pub coupon_shop_price: Option<Price>,
    /// Rakuten coupons.
    pub coupon_other_price: Option<Price>,
    /// 後払い手数料 (to user).
    pub additional_fee_occur_amount_to_user: Option<Price>,
    /// 後払い手数料 (to shop).
    pub additional_fee_occur_amount_to_shop: Option<Price>,
    /// あす楽.
    pub asuraku_flag: Option<i32>,
    /// 医薬品.
    pub drug_flag: Option<i32>,
    /// 闇市.
    pub deal_flag: Option<i32>,
    /// Membership program.
    pub membership_type: Option<i32>,
    /// ひとことメモ.
    pub memo: Option<String>,
    /// Operator of the memo.
    pub operator: Option<String>,
    /// Mail insert sentence.
    pub mail_plug_sentence: Option<String>,
    /// Buyer edited via 購入履歴.
    pub modify_flag: Option<i32>,
    /// 楽天 receipt issue count (not the 寄附金受領証明書).
    pub receipt_issue_count: Option<i64>,
    /// Receipt issue history (kept raw).
    pub receipt_issue_history_list: Option<Vec<Value>>,
    /// 配送品質向上制度 (v8+).
    pub delivery_cert_prg_flag: Option<i32>,
    /// 当日出荷 (v8+).
    pub one_day_operation_flag: Option<i32>,
    /// Tax recalculation flag (≤ v7).
    pub is_tax_recalc: Option<i32>,
    /// 注文者 = 寄附者.
    #[serde(rename = "OrdererModel")]
    pub orderer: Option<OrdererModel>,
    /// Settlement.
    #[serde(rename = "SettlementModel")]
    pub settlement: Option<SettlementModel>,
    /// Delivery method.
    #[serde(rename = "DeliveryModel")]
    pub delivery: Option<DeliveryModel>,
    /// Points used.
    #[serde(rename = "PointModel")]
    pub point: Option<PointModel>,
    /// Wrapping 1 (kept raw).
    #[serde(rename = "WrappingModel1")]
    pub wrapping1: Option<Value>,
    /// Wrapping 2 (kept raw).
    #[serde(rename = "WrappingModel2")]
    pub wrapping2: Option<Value>,
    /// 送付先 (返礼品の届け先), one per destination.
    #[serde(rename = "PackageModelList")]
    pub packages: Option<Vec<PackageModel>>,
    /// Coupons.
    #[serde(rename = "CouponModelList")]
    pub coupons: Option<Vec<CouponModel>>,
    /// Cancellation / change history.
    #[serde(rename = "ChangeReasonModelList")]
    pub change_reasons: Option<Vec<ChangeReasonModel>>,
    /// Tax summary.
    #[serde(rename = "TaxSummaryModelList")]
    pub tax_summaries: Option<Vec<TaxSummaryModel>>,
    /// Due dates (v5+).
    #[serde(rename = "DueDateModelList")]
    pub due_dates: Option<Vec<DueDateModel>>,
}

impl OrderModel {
    /// Parsed `orderDatetime`.
    pub fn order_datetime_at(&self) -> Result<Option<OffsetDateTime>, DatetimeError> {
        parse_opt(&self.order_datetime)
    }

    /// Parsed `orderFixDatetime`.
    pub fn order_fix_datetime_at(&self) -> Result<Option<OffsetDateTime>, DatetimeError> {
        parse_opt(&self.order_fix_datetime)
    }

    /// Parsed `shopOrderCfmDatetime`.
    pub fn shop_order_cfm_datetime_at(&self) -> Result<Option<OffsetDateTime>, DatetimeError> {
        parse_opt(&self.shop_order_cfm_datetime)
    }

    /// True for `orderProgress` 900 (キャンセル確定).
    pub fn is_cancelled(&self) -> bool {
        self.order_progress == Some(900)
    }

    /// True when any order-level money field is `-9999` (未確定).
    pub fn has_undetermined_amount(&self) -> bool {
        [
            self.goods_price,
            self.postage_price,
            self.delivery_price,
            self.payment_charge,
            self.total_price,
            self.request_price,
        ]
        .iter()
        .any(|p| matches!(p, Some(Price::Undetermined)))
    }

    /// All item lines across packages.
    pub fn items(&self) -> impl Iterator<Item = &ItemModel> {
        self.packages
            .iter()
            .flatten()
            .flat_map(|p| p.items.iter().flatten())
    }
}

/// `OrdererModel` (注文者 = 寄附者).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OrdererModel {
    /// 郵便番号 (3 digits).
    pub zip_code1: Option<String>,
    /// 郵便番号 (4 digits).
    pub zip_code2: Option<String>,
    /// 都道府県.
    pub prefecture: Option<String>,
    /// 郡市区.
    pub city: Option<String>,
    /// それ以降の住所.
    pub sub_address: Option<String>,
    /// 姓.
    pub family_name: Option<String>,
    /// 名.
    pub first_name: Option<String>,
    /// 姓カナ.
    pub family_name_kana: Option<String>,
    /// 名カナ.
    pub first_name_kana: Option<String>,
    /// 電話番号 part 1.
    pub phone_number1: Option<String>,
    /// 電話番号 part 2.
    pub phone_number2: Option<String>,
    /// 電話番号 part 3.
    pub phone_number3: Option<String>,
    /// Masked relay address (the real address is never exposed).
    pub email_address: Option<String>,
    /// `"男"` / `"女"`.
    pub sex: Option<String>,
    /// 誕生日 year.
    pub birth_year: Option<i32>,
    /// 誕生日 month.
    pub birth_month: Option<i32>,
    /// 誕生日 day.
    pub birth_day: Option<i32>,
}

/// `SettlementModel` (決済).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SettlementModel {
    /// 1 card, 2 代引, 9 銀行振込, 12 Apple Pay, … (absent in very old responses).
    pub settlement_method_code: Option<i32>,
    /// Name, e.g. `クレジットカード`.
    pub settlement_method: Option<String>,
    /// 1 = 楽天市場共通決済.
    pub rpay_settlement_flag: Option<i32>,
    /// Card brand.
    pub card_name: Option<String>,
    /// Masked card number.
    pub card_number: Option<String>,
    /// Card owner (personal data: never log).
    pub card_owner: Option<String>,
    /// `YYYY-MM`.
    pub card_ym: Option<String>,
    /// 0 一括, ….
    pub card_pay_type: Option<i32>,
    /// Installment description.
    pub card_installment_desc: Option<String>,
}

/// `DeliveryModel` (配送方法).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryModel {
    /// e.g. `宅配便`.
    pub delivery_name: Option<String>,
    /// 0–8 or null.
    pub delivery_class: Option<i32>,
}

/// `PointModel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PointModel {
    /// Points used (reduce `requestPrice`, not the donation).
    pub used_point: Option<i64>,
}

/// `PackageModel` (送付先).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PackageModel {
    /// 送付先ID (needed for shipping updates).
    pub basket_id: Option<i64>,
    /// 送料.
    pub postage_price: Option<Price>,
    /// 送料税率.
    pub postage_tax_rate: Option<f64>,
    /// 代引料.
    pub delivery_price: Option<Price>,
    /// 代引料税率.
    pub delivery_tax_rate: Option<f64>,
    /// 外税 (≤ v7).
    pub goods_tax: Option<Price>,
    /// 商品合計.
    pub goods_price: Option<Price>,
    /// 合計.
    pub total_price: Option<Price>,
    /// のし.
    pub noshi: Option<String>,
    /// 送付先削除.
    pub package_delete_flag: Option<i32>,
    /// Default carrier code (v4+).
    pub default_delivery_company_code: Option<String>,
    /// 置き配 (v9+).
    pub drop_off_flag: Option<i32>,
    /// 置き配場所 (v9+).
    pub drop_off_location: Option<String>,
    /// 送付者 (recipient). PascalCase key `SenderModel`.
    #[serde(rename = "SenderModel")]
    pub sender: Option<SenderModel>,
    /// Item lines.
    #[serde(rename = "ItemModelList")]
    pub items: Option<Vec<ItemModel>>,
    /// Shipping rows (empty before shipping info is registered).
    #[serde(rename = "ShippingModelList")]
    pub shippings: Option<Vec<ShippingModel>>,
    /// Convenience-store pick-up (kept raw).
    #[serde(rename = "DeliveryCvsModel")]
    pub delivery_cvs: Option<Value>,
    /// Social gift (v10, kept raw).
    #[serde(rename = "SocialGiftModel")]
    pub social_gift: Option<Value>,
}

/// `SenderModel` (送付先 = 返礼品の届け先).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SenderModel {
    /// 郵便番号 (3 digits).
    pub zip_code1: Option<String>,
    /// 郵便番号 (4 digits).
    pub zip_code2: Option<String>,
    /// 都道府県.
    pub prefecture: Option<String>,
    /// 郡市区.
    pub city: Option<String>,
    /// それ以降の住所.
    pub sub_address: Option<String>,
    /// 姓.
    pub family_name: Option<String>,
    /// 名.
    pub first_name: Option<String>,
    /// 姓カナ.
    pub family_name_kana: Option<String>,
    /// 名カナ.
    pub first_name_kana: Option<String>,
    /// 電話番号 part 1.
    pub phone_number1: Option<String>,
    /// 電話番号 part 2.
    pub phone_number2: Option<String>,
    /// 電話番号 part 3.
    pub phone_number3: Option<String>,
    /// 離島.
    pub isolated_island_flag: Option<i32>,
}

/// `ItemModel` (返礼品 line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ItemModel {
    /// 商品明細ID.
    pub item_detail_id: Option<i64>,
    /// 商品名.
    pub item_name: Option<String>,
    /// Rakuten numeric item id.
    pub item_id: Option<i64>,
    /// 商品番号 (shop code, e.g. the gift code `SD0001`).
    pub item_number: Option<String>,
    /// 商品管理番号 (URL slug).
    pub manage_number: Option<String>,
    /// 単価.
    pub price: Option<Price>,
    /// 個数.
    pub units: Option<i64>,
    /// 送料込.
    pub include_postage_flag: Option<i32>,
    /// 税込.
    pub include_tax_flag: Option<i32>,
    /// 代引手数料込.
    pub include_cash_on_delivery_postage_flag: Option<i32>,
    /// 項目・選択肢 (`項目名:選択肢` lines separated by `\n`).
    pub selected_choice: Option<String>,
    /// ポイント倍率.
    pub point_rate: Option<i64>,
    /// ポイントタイプ.
    pub point_type: Option<i32>,
    /// 在庫タイプ.
    pub inventory_type: Option<i32>,
    /// 納期情報.
    pub delvdate_info: Option<String>,
    /// 在庫連動.
    pub restore_inventory_flag: Option<i32>,
    /// 闇市.
    pub deal_flag: Option<i32>,
    /// 医薬品.
    pub drug_flag: Option<i32>,
    /// 削除フラグ.
    pub delete_item_flag: Option<i32>,
    /// 税率.
    pub tax_rate: Option<f64>,
    /// 税込単価.
    pub price_tax_incl: Option<Price>,
    /// 単品配送 (v4+).
    pub is_single_item_shipping: Option<i32>,
    /// SKU (v7+).
    #[serde(rename = "SkuModelList")]
    pub skus: Option<Vec<SkuModel>>,
}

impl ItemModel {
    /// `selectedChoice` split into `(項目名, 選択肢)` pairs; lines without `:` are skipped.
    pub fn choices(&self) -> Vec<(&str, &str)> {
        self.selected_choice
            .as_deref()
            .unwrap_or("")
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect()
    }
}

/// `SkuModel` (v7+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SkuModel {
    /// SKU管理番号.
    pub variant_id: Option<String>,
    /// システム連携用SKU番号.
    pub merchant_defined_sku_id: Option<String>,
    /// `項目:選択肢` lines.
    pub sku_info: Option<String>,
}

/// `ShippingModel` (発送情報). `None` fields are omitted when serialised (for
/// updateOrderShipping an omitted field means "unchanged").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ShippingModel {
    /// Rakuten id of the row (use it to update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_detail_id: Option<i64>,
    /// 伝票番号.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_number: Option<String>,
    /// Carrier code string (`"1001"` ヤマト …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_company: Option<String>,
    /// Carrier name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_company_name: Option<String>,
    /// 発送日 (`YYYY-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_date: Option<String>,
    /// 1 = delete the row (updateOrderShipping only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_delete_flag: Option<i32>,
}

/// `ChangeReasonModel` (cancellation / change history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ChangeReasonModel {
    /// Change id.
    pub change_id: Option<i64>,
    /// 0 キャンセル申請, 1 キャンセル確定, 2 キャンセル完了, 3 キャンセル取消, 4 変更申請,
    /// 5 変更確定, 6 変更完了, 7 変更取消, 8 注文確認, 9 再決済手続き.
    pub change_type: Option<i32>,
    /// 0 減額, 1 増額, 2 その他, 10–12 支払方法変更….
    pub change_type_detail: Option<i32>,
    /// 0 店舗都合, 1 お客様都合.
    pub change_reason: Option<i32>,
    /// Detail code (1 キャンセル … 16).
    pub change_reason_detail: Option<i32>,
    /// 申請日時.
    pub change_apply_datetime: Option<String>,
    /// 確定日時.
    pub change_fix_datetime: Option<String>,
    /// 完了日時.
    pub change_cmpl_datetime: Option<String>,
}

/// `CouponModel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CouponModel {
    /// Coupon code.
    pub coupon_code: Option<String>,
    /// Item id.
    pub item_id: Option<i64>,
    /// Name.
    pub coupon_name: Option<String>,
    /// Summary.
    pub coupon_summary: Option<String>,
    /// Issuer.
    pub coupon_capital: Option<String>,
    /// Issuer code.
    pub coupon_capital_code: Option<i32>,
    /// Expiry.
    pub expiry_date: Option<String>,
    /// Unit price.
    pub coupon_price: Option<Price>,
    /// Units.
    pub coupon_unit: Option<i64>,
    /// Total.
    pub coupon_total_price: Option<Price>,
    /// Item line.
    pub item_detail_id: Option<i64>,
}

/// `TaxSummaryModel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaxSummaryModel {
    /// Tax rate (e.g. 0.1).
    pub tax_rate: Option<f64>,
    /// 請求額.
    pub req_price: Option<Price>,
    /// 請求額に対する税額.
    pub req_price_tax: Option<Price>,
    /// 合計.
    pub total_price: Option<Price>,
    /// 決済手数料.
    pub payment_charge: Option<Price>,
    /// Coupon.
    pub coupon_price: Option<Price>,
    /// Points.
    pub point: Option<i64>,
}

/// `DueDateModel` (v5+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DueDateModel {
    /// 0 支払期限, 1 支払方法変更期限, 2 返金手続き期限.
    pub due_date_type: Option<i32>,
    /// `YYYY-MM-DD`.
    pub due_date: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// updateOrderSubStatus, license expiry
// ---------------------------------------------------------------------------------------------

/// updateOrderSubStatus request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOrderSubStatusRequest {
    /// Target sub-status id.
    pub sub_status_id: Option<i64>,
    /// Orders to mark (≤ 100).
    pub order_number_list: Vec<String>,
}

/// updateOrderShipping request body (model only; no client function uses it yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UpdateOrderShippingRequest {
    /// Order number.
    #[serde(rename = "orderNumber")]
    pub order_number: String,
    /// Per-basket shipping rows. Note the lower-case "id" in `BasketidModelList`.
    #[serde(rename = "BasketidModelList")]
    pub basketid_model_list: Vec<BasketidModel>,
}

/// One entry of `BasketidModelList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BasketidModel {
    /// 送付先ID.
    #[serde(rename = "basketId")]
    pub basket_id: i64,
    /// Rows to add (no id), update (id) or delete (`shippingDeleteFlag`).
    #[serde(rename = "ShippingModelList")]
    pub shipping_model_list: Vec<ShippingModel>,
}

/// Response of write functions that only return messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MessagesResponse {
    /// Messages.
    #[serde(rename = "MessageModelList")]
    pub message_model_list: Option<Vec<MessageModel>>,
}

/// License-key expiry response `{"expiryDate":"2026-11-28T23:59:59"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LicenseExpiryResponse {
    /// JST wall-clock, no offset.
    pub expiry_date: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn price_sentinel() {
        let p: Price = serde_json::from_value(json!(-9999)).unwrap();
        assert_eq!(p, Price::Undetermined);
        assert_eq!(p.amount(), None);
        assert_eq!(serde_json::to_value(p).unwrap(), json!(-9999));
        let p: Price = serde_json::from_value(json!(10000)).unwrap();
        assert_eq!(p, Price::Amount(10000));
        let p: Price = serde_json::from_value(json!(0)).unwrap();
        assert_eq!(p.amount(), Some(0));
        assert!(serde_json::from_value::<Price>(json!("10000")).is_err());
        assert!(serde_json::from_value::<Price>(json!(1.5)).is_err());
    }

    #[test]
    fn search_request_casing() {
        let r = SearchOrderRequest {
            date_type: Some(1),
            start_datetime: Some("2025-12-01T00:00:00+0900".into()),
            end_datetime: Some("2025-12-31T23:59:59+0900".into()),
            order_progress_list: Some(vec![100, 900]),
            pagination_request_model: Some(PaginationRequestModel {
                request_records_amount: Some(1000),
                request_page: Some(1),
                sort_model_list: Some(vec![SortModel {
                    sort_column: 1,
                    sort_direction: 1,
                }]),
            }),
            ..Default::default()
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({
                "dateType": 1,
                "startDatetime": "2025-12-01T00:00:00+0900",
                "endDatetime": "2025-12-31T23:59:59+0900",
                "orderProgressList": [100, 900],
                "PaginationRequestModel": {
                    "requestRecordsAmount": 1000, "requestPage": 1,
                    "SortModelList": [{"sortColumn": 1, "sortDirection": 1}]
                }
            })
        );
    }

    #[test]
    fn zero_hit_search_response() {
        let r: SearchOrderResponse = serde_json::from_value(json!({
            "orderNumberList": [],
            "MessageModelList": [{"messageType":"INFO","messageCode":"ORDER_EXT_API_SEARCH_ORDER_INFO_102","message":"x"}],
            "PaginationResponseModel": {"totalRecordsAmount": null, "totalPages": null, "requestPage": null}
        }))
        .unwrap();
        assert_eq!(r.order_number_list, Some(vec![]));
        assert_eq!(
            r.pagination_response_model.unwrap().total_records_amount,
            None
        );
    }

    #[test]
    fn order_model_from_reference_sample_with_unknown_fields() {
        let raw = json!({
            "orderNumber": "123456-20251201-0000000001",
            "orderProgress": 300,
            "orderDatetime": "2025-12-01T21:03:43+0900",
            "goodsPrice": -9999, "totalPrice": 10000,
            "someFutureField": {"x": 1},
            "OrdererModel": {"familyName": "楽天", "firstName": "太郎", "phoneNumber2": null},
            "PackageModelList": [{
                "basketId": 10631675,
                "SenderModel": {"familyName": "楽天", "isolatedIslandFlag": 0},
                "ItemModelList": [{
                    "itemNumber": "AB001", "price": 10000, "units": 1,
                    "selectedChoice": "税金控除申請に必要な書類:必要(ワンストップ特例申請用)\n寄附金の使い道:子育て支援",
                    "SkuModelList": [{"variantId": "", "merchantDefinedSkuId": null, "skuInfo": null}]
                }],
                "ShippingModelList": []
            }],
            "ChangeReasonModelList": null
        });
        let m = OrderModel::deserialize(&raw).unwrap();
        assert_eq!(m.goods_price, Some(Price::Undetermined));
        assert!(m.has_undetermined_amount());
        assert_eq!(m.total_price, Some(Price::Amount(10000)));
        assert_eq!(
            m.orderer.as_ref().unwrap().family_name.as_deref(),
            Some("楽天")
        );
        let item = m.items().next().unwrap();
        assert_eq!(
            item.choices(),
            vec![
                ("税金控除申請に必要な書類", "必要(ワンストップ特例申請用)"),
                ("寄附金の使い道", "子育て支援")
            ]
        );
        assert_eq!(
            m.order_datetime_at().unwrap().unwrap(),
            time::macros::datetime!(2025-12-01 21:03:43 +9)
        );
    }

    #[test]
    fn camel_case_model_keys_are_not_accepted_for_pascal_ones() {
        // The Go SDK typo `senderModel` must not be mistaken for the real key.
        let raw = json!({"basketId": 1, "senderModel": {"familyName": "x"}});
        let p = PackageModel::deserialize(&raw).unwrap();
        assert!(p.sender.is_none());
    }

    #[test]
    fn basketid_model_list_key() {
        let r = UpdateOrderShippingRequest {
            order_number: "1-2-3".into(),
            basketid_model_list: vec![BasketidModel {
                basket_id: 7,
                shipping_model_list: vec![],
            }],
        };
        let v = serde_json::to_value(&r).unwrap();
        assert!(v.get("BasketidModelList").is_some());
        assert_eq!(v["BasketidModelList"][0]["basketId"], json!(7));
    }

    #[test]
    fn gateway_envelope_both_spellings() {
        let a: GatewayEnvelope =
            serde_json::from_str(r#"{"Results":{"errorCode":"GA0001","message":"Un-Authorised"}}"#)
                .unwrap();
        let b: GatewayEnvelope = serde_json::from_str(
            r#"{"Results":{"errorCode":"ES04-01","errorMessage":"not enabled"}}"#,
        )
        .unwrap();
        assert_eq!(a.results.text(), Some("Un-Authorised"));
        assert_eq!(b.results.text(), Some("not enabled"));
    }
}
