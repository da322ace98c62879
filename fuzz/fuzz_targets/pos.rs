//! The UnionPay MIS-POS terminal (DOMAIN.md 9.5): the kiosk's `PosClient` and the simulator's
//! `PosDevice` fed arbitrary line noise and ACK/NAK bytes, frames with a correct LRC around
//! arbitrary payloads, their own exchanges with bytes flipped or cut, and arbitrary time; the
//! frame decoder and the fixed-width messages on the side. Checks: nothing panics, the decoder
//! holds at most one frame's bytes and resynchronises after any garbage, a decoded message
//! encodes back to itself, and the client still completes a purchase afterwards.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use protocol::pos::frame::MAX_PAYLOAD;
use protocol::pos::message::{REQUEST_LEN, RESPONSE_LEN};
use protocol::pos::*;
use protocol::Millis;

#[derive(Arbitrary, Debug)]
struct Input {
    ack_ms: u16,
    max_resends: u8,
    response_ms: u16,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Line noise to both machines.
    Noise(Vec<u8>),
    /// A frame with a correct LRC around an arbitrary payload.
    Frame(Vec<u8>),
    /// A payload of a message's exact size, framed: reaches the field decoders.
    Message {
        request: bool,
        fill: Vec<u8>,
    },
    /// What one side transmitted, delivered to the other, perhaps damaged.
    Deliver {
        to_client: bool,
        flip: Option<(u16, u8)>,
        cut: Option<u16>,
    },
    Advance(u16),
    Start(u64),
    /// The terminal answers the pending request (approved when `code` is 0).
    Respond(u8),
    CorruptNext(u8),
    MuteNext(u8),
}

fn purchase(amount_fen: u64) -> Request {
    Request {
        till_id: "KIOSK001".into(),
        operator_id: "SELF".into(),
        kind: TransactionType::Purchase,
        amount_fen,
        original_voucher: String::new(),
        original_date: String::new(),
        original_reference: String::new(),
        original_auth_code: String::new(),
        original_batch: String::new(),
        memo: "身份证补领工本费".into(),
    }
}

fn response(code: &str, amount_fen: u64) -> Response {
    Response {
        code: code.into(),
        message: "交易成功".into(),
        card_number: "622588******1234".into(),
        amount_fen,
        trace: "000123".into(),
        batch: "000001".into(),
        date: "0307".into(),
        time: "142530".into(),
        reference: "123456789012".into(),
        auth_code: "A1B2C3".into(),
        merchant_id: "898320154110001".into(),
        terminal_id: "10000001".into(),
        memo: String::new(),
    }
}

/// A message of exactly `len` bytes from arbitrary bytes.
fn sized(fill: &[u8], len: usize) -> Vec<u8> {
    let mut payload: Vec<u8> = fill.iter().copied().cycle().take(len).collect();
    payload.resize(len, b' ');
    payload
}

fn check_messages(payload: &[u8]) {
    if let Ok(request) = Request::decode(payload) {
        if let Ok(bytes) = request.encode() {
            assert_eq!(Request::decode(&bytes), Ok(request));
        }
    }
    if let Ok(response) = Response::decode(payload) {
        if let Ok(bytes) = response.encode() {
            assert_eq!(Response::decode(&bytes), Ok(response));
        }
    }
}

fuzz_target!(|input: Input| {
    let ms = |v: u16| Duration::from_millis(u64::from(v));
    let config = LinkConfig {
        ack_timeout: ms(input.ack_ms),
        max_resends: u32::from(input.max_resends % 8),
        response_timeout: ms(input.response_ms),
    };
    let mut client = PosClient::new(config.clone());
    let mut device = PosDevice::new(config.clone());
    let mut decoder = FrameDecoder::default();
    let mut now = Millis::ZERO;
    let (mut to_device, mut to_client) = (Vec::new(), Vec::new());
    let mut feed = |client: &mut PosClient, device: &mut PosDevice, now, bytes: &[u8]| {
        client.handle_bytes(now, bytes);
        device.handle_bytes(now, bytes);
        decoder.push(bytes);
        while let Some(item) = decoder.next_item() {
            if let Ok(Item::Frame(payload)) = item {
                check_messages(&payload);
            }
        }
        // At most one frame held back.
        assert!(decoder.buffered() < 1 + 4 + MAX_PAYLOAD + 2);
    };

    for op in input.ops {
        match op {
            Op::Noise(bytes) => feed(&mut client, &mut device, now, &bytes),
            Op::Frame(payload) => {
                let mut frame = Vec::new();
                encode_frame(&payload, &mut frame);
                feed(&mut client, &mut device, now, &frame);
            }
            Op::Message { request, fill } => {
                let payload = sized(&fill, if request { REQUEST_LEN } else { RESPONSE_LEN });
                check_messages(&payload);
                let mut frame = Vec::new();
                encode_frame(&payload, &mut frame);
                feed(&mut client, &mut device, now, &frame);
            }
            Op::Deliver {
                to_client: towards_client,
                flip,
                cut,
            } => {
                client.poll_transmit(&mut to_device);
                device.poll_transmit(&mut to_client);
                let pending = if towards_client {
                    &mut to_client
                } else {
                    &mut to_device
                };
                let mut bytes = std::mem::take(pending);
                if let Some((at, mask)) = flip {
                    if let Some(b) = bytes.get_mut(usize::from(at)) {
                        *b ^= mask;
                    }
                }
                if let Some(cut) = cut {
                    *pending = bytes.split_off(usize::from(cut).min(bytes.len()));
                }
                if towards_client {
                    client.handle_bytes(now, &bytes);
                } else {
                    device.handle_bytes(now, &bytes);
                }
            }
            Op::Advance(by) => {
                now += ms(by);
                client.handle_timeout(now);
                device.handle_timeout(now);
            }
            Op::Start(amount) => {
                // Amounts past 12 digits are refused before anything is sent.
                let _ = client.start(now, &purchase(amount));
            }
            Op::Respond(code) => {
                let code = if code == 0 {
                    "00".to_string()
                } else {
                    format!("{:02}", code % 100)
                };
                let _ = device.respond(now, &response(&code, 2000));
            }
            Op::CorruptNext(n) => device.corrupt_next(u32::from(n % 4)),
            Op::MuteNext(n) => device.mute_next(u32::from(n % 4)),
        }
        while client.poll_event().is_some() {}
        while device.poll_event().is_some() {}
    }

    // Resynchronisation: after any garbage, an idle line longer than a frame, then a frame.
    decoder.push(&vec![0u8; 1 + 4 + MAX_PAYLOAD + 3]);
    let mut frame = Vec::new();
    encode_frame(b"resync", &mut frame);
    decoder.push(&frame);
    let mut last = None;
    while let Some(item) = decoder.next_item() {
        last = Some(item);
    }
    assert_eq!(last, Some(Ok(Item::Frame(b"resync".to_vec()))));

    // Whatever happened, the client still completes a purchase with a working terminal.
    let mut fresh = PosDevice::new(LinkConfig::default());
    let mut client = PosClient::new(LinkConfig {
        response_timeout: Duration::from_secs(120),
        ..config
    });
    client.start(now, &purchase(2000)).unwrap();
    let mut answered = false;
    let mut buf = Vec::new();
    for _ in 0..16 {
        buf.clear();
        client.poll_transmit(&mut buf);
        fresh.handle_bytes(now, &buf);
        while let Some(event) = fresh.poll_event() {
            if let DeviceEvent::Request(request) = event {
                assert_eq!(*request, purchase(2000));
                fresh.respond(now, &response("00", 2000)).unwrap();
            }
        }
        buf.clear();
        fresh.poll_transmit(&mut buf);
        client.handle_bytes(now, &buf);
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::Response(r) => {
                    assert!(r.is_approved());
                    answered = true;
                }
                other => panic!("a working terminal gave {other:?}"),
            }
        }
        if answered {
            break;
        }
    }
    assert!(answered, "no response from a working terminal");
});
