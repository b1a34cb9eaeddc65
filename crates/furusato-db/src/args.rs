//! Dynamically built queries (search screens, exports): the SQL text is assembled once with
//! `$n` placeholders and the values are collected as [`Arg`]s, then bound on either engine with
//! [`bind_args!`](crate::bind_args).

use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// One bound value.
#[derive(Clone, Debug)]
pub enum Arg {
    Text(String),
    Int(i64),
    Bool(bool),
    Date(Date),
    Timestamp(OffsetDateTime),
    Uuid(Uuid),
    Bytes(Vec<u8>),
    OptText(Option<String>),
    OptInt(Option<i64>),
    OptDate(Option<Date>),
    OptTimestamp(Option<OffsetDateTime>),
    OptUuid(Option<Uuid>),
}

/// A list of bound values that hands out `$n` placeholders in order.
#[derive(Clone, Debug, Default)]
pub struct Args {
    values: Vec<Arg>,
}

impl Args {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value and returns its placeholder (`$1`, `$2`, …).
    pub fn push(&mut self, arg: Arg) -> String {
        self.values.push(arg);
        format!("${}", self.values.len())
    }

    pub fn text(&mut self, v: impl Into<String>) -> String {
        self.push(Arg::Text(v.into()))
    }
    pub fn int(&mut self, v: i64) -> String {
        self.push(Arg::Int(v))
    }
    pub fn bool(&mut self, v: bool) -> String {
        self.push(Arg::Bool(v))
    }
    pub fn date(&mut self, v: Date) -> String {
        self.push(Arg::Date(v))
    }
    pub fn timestamp(&mut self, v: OffsetDateTime) -> String {
        self.push(Arg::Timestamp(v))
    }
    pub fn uuid(&mut self, v: Uuid) -> String {
        self.push(Arg::Uuid(v))
    }

    pub fn values(&self) -> &[Arg] {
        &self.values
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Binds every [`Arg`] of `$args` to the sqlx query `$q` (any of `query`, `query_as`,
/// `query_scalar`), in order. Use inside a [`with_db!`](crate::with_db) arm.
#[macro_export]
macro_rules! bind_args {
    ($q:expr, $args:expr) => {
        $crate::bind_values!($q, $args.values().iter().cloned())
    };
}

/// Binds the owned [`Arg`]s that `$values` yields to the sqlx query `$q`, in order (bulk inserts
/// hand their values over instead of copying them).
#[macro_export]
macro_rules! bind_values {
    ($q:expr, $values:expr) => {{
        let mut q = $q;
        for a in $values {
            q = match a {
                $crate::args::Arg::Text(v) => q.bind(v),
                $crate::args::Arg::Int(v) => q.bind(v),
                $crate::args::Arg::Bool(v) => q.bind(v),
                $crate::args::Arg::Date(v) => q.bind(v),
                $crate::args::Arg::Timestamp(v) => q.bind(v),
                $crate::args::Arg::Uuid(v) => q.bind(v),
                $crate::args::Arg::Bytes(v) => q.bind(v),
                $crate::args::Arg::OptText(v) => q.bind(v),
                $crate::args::Arg::OptInt(v) => q.bind(v),
                $crate::args::Arg::OptDate(v) => q.bind(v),
                $crate::args::Arg::OptTimestamp(v) => q.bind(v),
                $crate::args::Arg::OptUuid(v) => q.bind(v),
            };
        }
        q
    }};
}

/// The exclusive upper bound for a prefix range scan: `col >= prefix AND col < prefix_end(prefix)`.
/// Works with an ordinary b-tree index on both engines (byte-wise `C`/`BINARY` collation).
pub fn prefix_end(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 4);
    s.push_str(prefix);
    s.push(char::MAX);
    s
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
