//! UnionPay MIS-POS: fixed-width messages, STX/LEN/ETX/LRC framing, ACK/NAK link.

use std::time::Duration;

use proptest::prelude::*;
use protocol::pos::message::{REQUEST_LEN, RESPONSE_LEN};
use protocol::pos::*;
use protocol::Millis;

use crate::hex;

fn purchase() -> Request {
    Request {
        till_id: "KIOSK001".into(),
        operator_id: "SELF".into(),
        kind: TransactionType::Purchase,
        amount_fen: 2000,
        original_voucher: String::new(),
        original_date: String::new(),
        original_reference: String::new(),
        original_auth_code: String::new(),
        original_batch: String::new(),
        memo: "身份证补领工本费".into(),
    }
}

fn approved() -> Response {
    Response {
        code: "00".into(),
        message: "交易成功".into(),
        card_number: "622848******1234".into(),
        amount_fen: 2000,
        trace: "000123".into(),
        batch: "000001".into(),
        date: "0307".into(),
        time: "143015".into(),
        reference: "123456789012".into(),
        auth_code: "A1B2C3".into(),
        merchant_id: "898110154110001".into(),
        terminal_id: "10000001".into(),
        memo: String::new(),
    }
}

#[test]
fn request_is_fixed_width_ascii_with_gbk_memo() {
    let bytes = purchase().encode().unwrap();
    assert_eq!(bytes.len(), REQUEST_LEN);
    assert_eq!(REQUEST_LEN, 1092);
    assert_eq!(&bytes[..30], b"KIOSK001SELF    00000000002000");
    assert_eq!(&bytes[68..70], &[0xC9, 0xED], "身 in GBK");
    assert_eq!(Request::decode(&bytes), Ok(purchase()));
    let refund = Request {
        kind: TransactionType::Refund,
        original_voucher: "000123".into(),
        original_date: "20250307".into(),
        original_reference: "123456789012".into(),
        original_auth_code: "A1B2C3".into(),
        original_batch: "000001".into(),
        ..purchase()
    };
    assert_eq!(Request::decode(&refund.encode().unwrap()), Ok(refund));
    let void = Request {
        kind: TransactionType::Void,
        original_voucher: "000123".into(),
        ..purchase()
    };
    assert_eq!(Request::decode(&void.encode().unwrap()), Ok(void));
}

#[test]
fn response_round_trips() {
    let bytes = approved().encode().unwrap();
    assert_eq!(bytes.len(), RESPONSE_LEN);
    assert_eq!(RESPONSE_LEN, 1161);
    assert_eq!(&bytes[..2], b"00");
    assert_eq!(
        &bytes[2..10],
        &[0xBD, 0xBB, 0xD2, 0xD7, 0xB3, 0xC9, 0xB9, 0xA6],
        "交易成功 in GBK"
    );
    assert_eq!(Response::decode(&bytes), Ok(approved()));
    assert!(approved().is_approved());
    let declined = Response {
        code: "51".into(),
        message: "余额不足".into(),
        trace: String::new(),
        batch: String::new(),
        date: String::new(),
        time: String::new(),
        reference: String::new(),
        auth_code: String::new(),
        ..approved()
    };
    let back = Response::decode(&declined.encode().unwrap()).unwrap();
    assert!(!back.is_approved());
    assert_eq!(back, declined);
}

#[test]
fn field_errors_name_the_field() {
    let field = |field, problem| Some(FieldError::Field { field, problem });
    let r = Request {
        till_id: "TOO-LONG-ID".into(),
        ..purchase()
    };
    assert_eq!(
        r.encode().err(),
        field("till_id", Problem::TooLong { width: 8 })
    );
    let r = Request {
        operator_id: "张".into(),
        ..purchase()
    };
    assert_eq!(r.encode().err(), field("operator_id", Problem::NotAscii));
    let r = Request {
        amount_fen: 10u64.pow(12),
        ..purchase()
    };
    assert_eq!(
        r.encode().err(),
        field("amount_fen", Problem::TooLong { width: 12 })
    );
    let r = Request {
        original_date: "2025-3-7".into(),
        ..purchase()
    };
    assert_eq!(r.encode().err(), field("original_date", Problem::NotDigits));
    let r = Request {
        memo: "🙂".into(),
        ..purchase()
    };
    assert_eq!(r.encode().err(), field("memo", Problem::NotGbk));
    let r = Response {
        message: "交".repeat(21),
        ..approved()
    };
    assert_eq!(
        r.encode().err(),
        field("message", Problem::TooLong { width: 40 })
    );

    let good = purchase().encode().unwrap();
    assert_eq!(
        Request::decode(&good[1..]),
        Err(FieldError::Length {
            expected: 1092,
            actual: 1091
        })
    );
    let mut bad = good.clone();
    bad[16..18].copy_from_slice(b"07");
    assert_eq!(Request::decode(&bad).err(), field("kind", Problem::Unknown));
    let mut bad = good.clone();
    bad[20] = b'x';
    assert_eq!(
        Request::decode(&bad).err(),
        field("amount_fen", Problem::NotDigits)
    );
    let mut bad = approved().encode().unwrap();
    bad[2] = 0x81;
    bad[3] = 0x20;
    assert_eq!(
        Response::decode(&bad).err(),
        field("message", Problem::NotGbk)
    );
    let mut bad = approved().encode().unwrap();
    bad[82] = b'?'; // batch is bytes 80..86
    assert_eq!(
        Response::decode(&bad).err(),
        field("batch", Problem::NotDigits)
    );
}

#[test]
fn frame_byte_for_byte() {
    // LRC = '0'^'0'^'0'^'2' ^ 'A' ^ 'B' ^ 03 = 02 ^ 41 ^ 42 ^ 03 = 02
    let mut out = Vec::new();
    encode_frame(b"AB", &mut out);
    assert_eq!(out, hex("02 30 30 30 32 41 42 03 02"));
}

fn items(bytes: &[u8]) -> Vec<Result<Item, FrameError>> {
    let mut d = FrameDecoder::default();
    d.push(bytes);
    std::iter::from_fn(|| d.next_item()).collect()
}

#[test]
fn malformed_frames_are_error_values() {
    let good = hex("02 30 30 30 32 41 42 03 02");
    let then_good = |bad: &str| [hex(bad), good.clone()].concat();
    let frame = Ok(Item::Frame(b"AB".to_vec()));
    assert_eq!(
        items(&then_good("41 42 06 15")),
        vec![
            Err(FrameError::Garbage { skipped: 2 }),
            Ok(Item::Ack),
            Ok(Item::Nak),
            frame.clone()
        ]
    );
    let got = items(&then_good("02 30 41 30 32"));
    assert_eq!(got[0], Err(FrameError::Length));
    assert_eq!(got.last(), Some(&frame));
    let got = items(&then_good("02 39 39 39 39"));
    assert_eq!(
        got[0],
        Err(FrameError::Oversized {
            len: 9999,
            max: 2048
        })
    );
    assert_eq!(got.last(), Some(&frame));
    assert_eq!(
        items(&then_good("02 30 30 30 32 41 42 04 02")),
        vec![Err(FrameError::MissingEtx), frame.clone()]
    );
    assert_eq!(
        items(&then_good("02 30 30 30 32 41 42 03 07")),
        vec![
            Err(FrameError::Lrc {
                computed: 2,
                received: 7
            }),
            frame.clone()
        ]
    );
    let mut d = FrameDecoder::default();
    d.push(&good[..6]);
    assert_eq!(d.next_item(), None, "truncated: waits");
    d.push(&good[6..]);
    assert_eq!(d.next_item(), Some(frame));
}

proptest! {
    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut d = FrameDecoder::default();
        for chunk in bytes.chunks(5) {
            d.push(&[0x02]);
            d.push(chunk);
            while let Some(item) = d.next_item() {
                if let Ok(Item::Frame(p)) = item {
                    let _ = Request::decode(&p);
                    let _ = Response::decode(&p);
                }
            }
        }
    }

    #[test]
    fn messages_never_panic(bytes in proptest::collection::vec(any::<u8>(), RESPONSE_LEN)) {
        let _ = Response::decode(&bytes);
        let _ = Request::decode(&bytes[..REQUEST_LEN]);
    }

    #[test]
    fn frames_survive_any_chunking(cut in 1usize..200) {
        let mut bytes = Vec::new();
        encode_frame(&purchase().encode().unwrap(), &mut bytes);
        bytes.push(0x06);
        encode_frame(&approved().encode().unwrap(), &mut bytes);
        let mut d = FrameDecoder::default();
        let mut got = Vec::new();
        for chunk in bytes.chunks(cut) {
            d.push(chunk);
            while let Some(i) = d.next_item() { got.push(i.unwrap()); }
        }
        prop_assert_eq!(got.len(), 3);
        prop_assert_eq!(&got[1], &Item::Ack);
        let Item::Frame(p) = &got[2] else { panic!() };
        prop_assert_eq!(Response::decode(p), Ok(approved()));
    }
}

// ---------------------------------------------------------------- client ↔ device

struct Pair {
    client: PosClient,
    device: PosDevice,
    now: Millis,
    client_events: Vec<ClientEvent>,
    device_events: Vec<DeviceEvent>,
    /// The terminal's decision, applied when a request arrives.
    answer: Option<Response>,
    /// Damage the next N kiosk → terminal frames' last byte.
    corrupt_to_device: u32,
}

impl Pair {
    fn new() -> Pair {
        Pair {
            client: PosClient::new(LinkConfig::default()),
            device: PosDevice::new(LinkConfig::default()),
            now: Millis::ZERO,
            client_events: vec![],
            device_events: vec![],
            answer: Some(approved()),
            corrupt_to_device: 0,
        }
    }
    fn pump(&mut self) {
        for _ in 0..100 {
            let mut out = Vec::new();
            self.client.poll_transmit(&mut out);
            if out.len() > 1 && self.corrupt_to_device > 0 {
                self.corrupt_to_device -= 1;
                *out.last_mut().unwrap() ^= 0xFF;
            }
            self.device.handle_bytes(self.now, &out);
            while let Some(e) = self.device.poll_event() {
                if let (DeviceEvent::Request(_), Some(r)) = (&e, &self.answer) {
                    self.device.respond(self.now, r).unwrap();
                }
                self.device_events.push(e);
            }
            let mut back = Vec::new();
            self.device.poll_transmit(&mut back);
            self.client.handle_bytes(self.now, &back);
            self.client_events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
            if out.is_empty() && back.is_empty() {
                return;
            }
        }
        panic!("never quiet");
    }
    fn run(&mut self, max_steps: usize) -> ClientEvent {
        for _ in 0..max_steps {
            self.pump();
            if let Some(e) = self.client_events.first() {
                return e.clone();
            }
            let next = [self.client.poll_timeout(), self.device.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(t) = next else { break };
            self.now = self.now.max(t);
            self.client.handle_timeout(self.now);
            self.device.handle_timeout(self.now);
        }
        panic!("no event after {max_steps} steps");
    }
}

#[test]
fn purchase_is_approved() {
    let mut p = Pair::new();
    p.client.start(p.now, &purchase()).unwrap();
    assert_eq!(p.run(5), ClientEvent::Response(Box::new(approved())));
    p.pump();
    assert_eq!(
        p.device_events,
        vec![
            DeviceEvent::Request(Box::new(purchase())),
            DeviceEvent::Delivered
        ]
    );
}

#[test]
fn damaged_request_is_naked_and_resent() {
    let mut p = Pair::new();
    p.corrupt_to_device = 3;
    p.client.start(p.now, &purchase()).unwrap();
    assert!(matches!(p.run(5), ClientEvent::Response(_)));
    assert_eq!(
        p.device_events
            .iter()
            .filter(|e| matches!(e, DeviceEvent::Damaged(_)))
            .count(),
        3
    );
}

#[test]
fn four_damaged_requests_give_up() {
    let mut p = Pair::new();
    p.corrupt_to_device = 4;
    p.client.start(p.now, &purchase()).unwrap();
    assert_eq!(p.run(5), ClientEvent::Unacknowledged);
    assert_eq!(p.now, Millis::ZERO, "NAKs, not timeouts");
}

#[test]
fn lost_requests_are_resent_after_the_ack_timeout() {
    let mut p = Pair::new();
    p.device.mute_next(2);
    p.client.start(p.now, &purchase()).unwrap();
    assert!(matches!(p.run(10), ClientEvent::Response(_)));
    assert_eq!(p.now, Millis(4000));
    let mut p = Pair::new();
    p.device.mute_next(4);
    p.client.start(p.now, &purchase()).unwrap();
    assert_eq!(p.run(10), ClientEvent::Unacknowledged);
    assert_eq!(p.now, Millis(8000));
}

#[test]
fn damaged_responses_are_naked_and_resent() {
    let mut p = Pair::new();
    p.device.corrupt_next(3);
    p.client.start(p.now, &purchase()).unwrap();
    assert_eq!(p.run(5), ClientEvent::Response(Box::new(approved())));
    p.pump();
    assert_eq!(p.device_events.last(), Some(&DeviceEvent::Delivered));
}

#[test]
fn no_response_is_a_timeout_with_unknown_outcome() {
    let mut p = Pair::new();
    p.answer = None;
    p.client.start(p.now, &purchase()).unwrap();
    assert_eq!(p.run(5), ClientEvent::Timeout);
    assert_eq!(p.now, Millis(120_000));
}

#[test]
fn a_duplicate_request_is_acked_but_processed_once() {
    let mut d = PosDevice::new(LinkConfig::default());
    let mut frame = Vec::new();
    encode_frame(&purchase().encode().unwrap(), &mut frame);
    d.handle_bytes(Millis::ZERO, &frame);
    d.handle_bytes(Millis(2000), &frame);
    let mut out = Vec::new();
    d.poll_transmit(&mut out);
    assert_eq!(out, vec![ACK, ACK]);
    let events: Vec<_> = std::iter::from_fn(|| d.poll_event()).collect();
    assert_eq!(events, vec![DeviceEvent::Request(Box::new(purchase()))]);
}

#[test]
fn unencodable_request_sends_nothing() {
    let mut c = PosClient::new(LinkConfig {
        ack_timeout: Duration::from_secs(1),
        ..LinkConfig::default()
    });
    let bad = Request {
        till_id: "123456789".into(),
        ..purchase()
    };
    assert!(c.start(Millis::ZERO, &bad).is_err());
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    assert!(out.is_empty() && !c.is_busy());
}
