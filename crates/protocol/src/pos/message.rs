//! Fixed-width MIS-POS messages. Text fields are left-aligned and space-padded, amounts are
//! right-aligned and zero-padded; widths are in bytes on the wire.

use encoding_rs::GBK;

/// Request payload size.
pub const REQUEST_LEN: usize = 8 + 8 + 2 + 12 + 6 + 8 + 12 + 6 + 6 + 1024;
/// Response payload size.
pub const RESPONSE_LEN: usize = 2 + 40 + 20 + 12 + 6 + 6 + 4 + 6 + 12 + 6 + 15 + 8 + 1024;

/// Transaction type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionType {
    /// `00` 消费.
    Purchase,
    /// `01` 撤销 (same day, same batch).
    Void,
    /// `02` 退货.
    Refund,
}

impl TransactionType {
    fn code(self) -> &'static str {
        match self {
            TransactionType::Purchase => "00",
            TransactionType::Void => "01",
            TransactionType::Refund => "02",
        }
    }
}

/// The kiosk's request to the terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// 收银台号, 8.
    pub till_id: String,
    /// 操作员号, 8.
    pub operator_id: String,
    /// 交易类型, 2.
    pub kind: TransactionType,
    /// 金额 in fen, 12 digits.
    pub amount_fen: u64,
    /// 原凭证号 (void/refund), 6.
    pub original_voucher: String,
    /// 原交易日期 YYYYMMDD (refund), 8.
    pub original_date: String,
    /// 原参考号 (refund), 12.
    pub original_reference: String,
    /// 原授权码, 6.
    pub original_auth_code: String,
    /// 原批次号, 6.
    pub original_batch: String,
    /// 备注, 1024 bytes of GBK.
    pub memo: String,
}

/// The terminal's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// 响应码, 2; `00` approved.
    pub code: String,
    /// 响应信息, 40 bytes of GBK.
    pub message: String,
    /// 卡号, masked, 20.
    pub card_number: String,
    /// 金额 in fen, 12 digits.
    pub amount_fen: u64,
    /// 流水号 (voucher number), 6.
    pub trace: String,
    /// 批次号, 6.
    pub batch: String,
    /// 交易日期 MMDD, 4 digits.
    pub date: String,
    /// 交易时间 hhmmss, 6 digits.
    pub time: String,
    /// 参考号, 12.
    pub reference: String,
    /// 授权码, 6.
    pub auth_code: String,
    /// 商户号, 15.
    pub merchant_id: String,
    /// 终端号, 8.
    pub terminal_id: String,
    /// 备注, 1024 bytes of GBK.
    pub memo: String,
}

impl Response {
    /// Whether the payment went through.
    pub fn is_approved(&self) -> bool {
        self.code == "00"
    }
}

/// What is wrong with one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Longer than its width.
    TooLong {
        /// Width in bytes.
        width: usize,
    },
    /// Not printable ASCII where only that is allowed.
    NotAscii,
    /// Not all digits where a number or a date is due.
    NotDigits,
    /// Cannot be represented in, or decoded from, GBK.
    NotGbk,
    /// Not a value the protocol defines (e.g. transaction type `07`).
    Unknown,
}

/// A message that cannot be encoded or decoded, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The payload is not the fixed size.
    #[error("payload of {actual} bytes, {expected} expected")]
    Length {
        /// Fixed size of this message.
        expected: usize,
        /// Received.
        actual: usize,
    },
    /// One field is wrong.
    #[error("field {field}: {problem:?}")]
    Field {
        /// The field's name.
        field: &'static str,
        /// What is wrong.
        problem: Problem,
    },
}

fn err(field: &'static str, problem: Problem) -> FieldError {
    FieldError::Field { field, problem }
}

fn printable(s: &[u8]) -> bool {
    s.iter().all(|b| (0x20..=0x7E).contains(b))
}

struct Writer(Vec<u8>);

impl Writer {
    fn pad(&mut self, field: &'static str, bytes: &[u8], width: usize) -> Result<(), FieldError> {
        if bytes.len() > width {
            return Err(err(field, Problem::TooLong { width }));
        }
        self.0.extend_from_slice(bytes);
        let end = self.0.len() + width - bytes.len();
        self.0.resize(end, b' ');
        Ok(())
    }
    fn text(&mut self, field: &'static str, s: &str, width: usize) -> Result<(), FieldError> {
        if !printable(s.as_bytes()) {
            return Err(err(field, Problem::NotAscii));
        }
        self.pad(field, s.as_bytes(), width)
    }
    fn digits(&mut self, field: &'static str, s: &str, width: usize) -> Result<(), FieldError> {
        if s.len() != width || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(field, Problem::NotDigits));
        }
        self.pad(field, s.as_bytes(), width)
    }
    fn number(&mut self, field: &'static str, n: u64, width: usize) -> Result<(), FieldError> {
        let s = format!("{n:0width$}");
        if s.len() > width {
            return Err(err(field, Problem::TooLong { width }));
        }
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
    fn gbk(&mut self, field: &'static str, s: &str, width: usize) -> Result<(), FieldError> {
        let (bytes, _, unmappable) = GBK.encode(s);
        if unmappable {
            return Err(err(field, Problem::NotGbk));
        }
        self.pad(field, &bytes, width)
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, width: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(width.min(self.0.len()));
        self.0 = tail;
        head
    }
    fn text(&mut self, field: &'static str, width: usize) -> Result<String, FieldError> {
        let b = self.take(width);
        if !printable(b) {
            return Err(err(field, Problem::NotAscii));
        }
        Ok(b.iter()
            .map(|&c| char::from(c))
            .collect::<String>()
            .trim_end()
            .to_owned())
    }
    fn digits(&mut self, field: &'static str, width: usize) -> Result<String, FieldError> {
        let b = self.take(width);
        if !b.iter().all(u8::is_ascii_digit) {
            return Err(err(field, Problem::NotDigits));
        }
        Ok(b.iter().map(|&c| char::from(c)).collect())
    }
    fn number(&mut self, field: &'static str, width: usize) -> Result<u64, FieldError> {
        self.digits(field, width)?
            .parse()
            .map_err(|_| err(field, Problem::NotDigits))
    }
    fn gbk(&mut self, field: &'static str, width: usize) -> Result<String, FieldError> {
        let b = self.take(width);
        let (s, malformed) = GBK.decode_without_bom_handling(b);
        if malformed {
            return Err(err(field, Problem::NotGbk));
        }
        Ok(s.trim_end_matches([' ', '\0']).to_owned())
    }
}

fn check_len(payload: &[u8], expected: usize) -> Result<(), FieldError> {
    if payload.len() != expected {
        return Err(FieldError::Length {
            expected,
            actual: payload.len(),
        });
    }
    Ok(())
}

/// Original-transaction fields are blank for a purchase, digits otherwise; both are accepted.
fn optional_digits(
    w: &mut Writer,
    field: &'static str,
    s: &str,
    width: usize,
) -> Result<(), FieldError> {
    if s.is_empty() {
        w.pad(field, b"", width)
    } else {
        w.digits(field, s, width)
    }
}

impl Request {
    /// The fixed-width payload.
    pub fn encode(&self) -> Result<Vec<u8>, FieldError> {
        let mut w = Writer(Vec::with_capacity(REQUEST_LEN));
        w.text("till_id", &self.till_id, 8)?;
        w.text("operator_id", &self.operator_id, 8)?;
        w.text("kind", self.kind.code(), 2)?;
        w.number("amount_fen", self.amount_fen, 12)?;
        optional_digits(&mut w, "original_voucher", &self.original_voucher, 6)?;
        optional_digits(&mut w, "original_date", &self.original_date, 8)?;
        w.text("original_reference", &self.original_reference, 12)?;
        w.text("original_auth_code", &self.original_auth_code, 6)?;
        optional_digits(&mut w, "original_batch", &self.original_batch, 6)?;
        w.gbk("memo", &self.memo, 1024)?;
        Ok(w.0)
    }

    /// Parses the fixed-width payload.
    pub fn decode(payload: &[u8]) -> Result<Request, FieldError> {
        check_len(payload, REQUEST_LEN)?;
        let mut r = Reader(payload);
        let till_id = r.text("till_id", 8)?;
        let operator_id = r.text("operator_id", 8)?;
        let kind = match r.take(2) {
            b"00" => TransactionType::Purchase,
            b"01" => TransactionType::Void,
            b"02" => TransactionType::Refund,
            _ => return Err(err("kind", Problem::Unknown)),
        };
        let amount_fen = r.number("amount_fen", 12)?;
        let optional = |r: &mut Reader, field, width| -> Result<String, FieldError> {
            let s = r.text(field, width)?;
            if s.bytes().all(|b| b.is_ascii_digit()) && (s.is_empty() || s.len() == width) {
                Ok(s)
            } else {
                Err(err(field, Problem::NotDigits))
            }
        };
        Ok(Request {
            till_id,
            operator_id,
            kind,
            amount_fen,
            original_voucher: optional(&mut r, "original_voucher", 6)?,
            original_date: optional(&mut r, "original_date", 8)?,
            original_reference: r.text("original_reference", 12)?,
            original_auth_code: r.text("original_auth_code", 6)?,
            original_batch: optional(&mut r, "original_batch", 6)?,
            memo: r.gbk("memo", 1024)?,
        })
    }
}

impl Response {
    /// The fixed-width payload.
    pub fn encode(&self) -> Result<Vec<u8>, FieldError> {
        let mut w = Writer(Vec::with_capacity(RESPONSE_LEN));
        if self.code.len() != 2 {
            return Err(err("code", Problem::Unknown));
        }
        w.text("code", &self.code, 2)?;
        w.gbk("message", &self.message, 40)?;
        w.text("card_number", &self.card_number, 20)?;
        w.number("amount_fen", self.amount_fen, 12)?;
        optional_digits(&mut w, "trace", &self.trace, 6)?;
        optional_digits(&mut w, "batch", &self.batch, 6)?;
        optional_digits(&mut w, "date", &self.date, 4)?;
        optional_digits(&mut w, "time", &self.time, 6)?;
        w.text("reference", &self.reference, 12)?;
        w.text("auth_code", &self.auth_code, 6)?;
        w.text("merchant_id", &self.merchant_id, 15)?;
        w.text("terminal_id", &self.terminal_id, 8)?;
        w.gbk("memo", &self.memo, 1024)?;
        Ok(w.0)
    }

    /// Parses the fixed-width payload.
    pub fn decode(payload: &[u8]) -> Result<Response, FieldError> {
        check_len(payload, RESPONSE_LEN)?;
        let mut r = Reader(payload);
        let code = r.text("code", 2)?;
        if code.len() != 2 {
            return Err(err("code", Problem::Unknown));
        }
        let message = r.gbk("message", 40)?;
        let card_number = r.text("card_number", 20)?;
        let amount_fen = r.number("amount_fen", 12)?;
        // A declined transaction leaves trace, batch, date and time blank.
        let mut optional = |field, width| -> Result<String, FieldError> {
            let s = r.text(field, width)?;
            if s.bytes().all(|b| b.is_ascii_digit()) && (s.is_empty() || s.len() == width) {
                Ok(s)
            } else {
                Err(err(field, Problem::NotDigits))
            }
        };
        let trace = optional("trace", 6)?;
        let batch = optional("batch", 6)?;
        let date = optional("date", 4)?;
        let time = optional("time", 6)?;
        Ok(Response {
            code,
            message,
            card_number,
            amount_fen,
            trace,
            batch,
            date,
            time,
            reference: r.text("reference", 12)?,
            auth_code: r.text("auth_code", 6)?,
            merchant_id: r.text("merchant_id", 15)?,
            terminal_id: r.text("terminal_id", 8)?,
            memo: r.gbk("memo", 1024)?,
        })
    }
}
