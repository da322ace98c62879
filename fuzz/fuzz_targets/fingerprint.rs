//! The R30x fingerprint module (DOMAIN.md 9.2): the kiosk's `FingerprintClient` and the
//! simulator's `FingerprintDevice` fed arbitrary line noise, packets with correct checksums and
//! arbitrary contents, their own exchanges (a 36 KB image upload among them) with bytes flipped
//! or cut, and arbitrary time; the packet decoder, the messages and the image assembler on the
//! side. Checks: nothing panics, the decoder holds at most one packet's bytes and resynchronises
//! after any garbage, and the client still captures a finger afterwards.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use protocol::fingerprint::packet::{HEADER_LEN, MAX_CONTENT};
use protocol::fingerprint::*;
use protocol::Millis;

#[derive(Arbitrary, Debug)]
struct Input {
    address: u32,
    poll_ms: u16,
    ack_ms: u16,
    data_ms: u16,
    max_retries: u8,
    no_finger_ms: u16,
    check_quality: bool,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Line noise to both machines.
    Noise(Vec<u8>),
    /// A packet with a correct checksum and arbitrary content.
    Packet {
        address: u32,
        pid: u8,
        content: Vec<u8>,
    },
    /// What one side transmitted, delivered to the other, perhaps damaged.
    Deliver {
        to_client: bool,
        flip: Option<(u32, u8)>,
        cut: Option<u32>,
    },
    Advance(u16),
    StartCapture,
    StartCommand(u8),
    Cancel,
    /// 0 lifts the finger, 1 a good one, 2 a smudged one.
    Finger(u8),
    CorruptNext(u8),
    /// The messages decoded directly.
    Content(Vec<u8>),
}

fn pixels() -> Vec<u8> {
    static PIXELS: OnceLock<Vec<u8>> = OnceLock::new();
    PIXELS
        .get_or_init(|| (0..WIDTH * HEIGHT).map(|i| (i * 37 % 256) as u8).collect())
        .clone()
}

const PIDS: [Pid; 4] = [Pid::Command, Pid::Data, Pid::Ack, Pid::EndData];

fuzz_target!(|input: Input| {
    let ms = |v: u16| Duration::from_millis(u64::from(v));
    let config = ClientConfig {
        address: input.address,
        poll_interval: ms(input.poll_ms),
        ack_timeout: ms(input.ack_ms),
        data_timeout: ms(input.data_ms),
        max_retries: u32::from(input.max_retries % 8),
        no_finger_after: ms(input.no_finger_ms),
        check_quality: input.check_quality,
    };
    let mut client = FingerprintClient::new(config.clone());
    let mut device = FingerprintDevice::new(DeviceConfig::default());
    let mut decoder = PacketDecoder::default();
    let mut assembler = ImageAssembler::default();
    let mut now = Millis::ZERO;
    let (mut to_device, mut to_client) = (Vec::new(), Vec::new());

    for op in input.ops {
        match op {
            Op::Noise(bytes) => {
                client.handle_bytes(now, &bytes);
                device.handle_bytes(now, &bytes);
                decoder.push(&bytes);
            }
            Op::Packet {
                address,
                pid,
                content,
            } => {
                let bytes = Packet {
                    address,
                    pid: PIDS[usize::from(pid) % PIDS.len()],
                    content: content[..content.len().min(MAX_CONTENT + 8)].to_vec(),
                }
                .to_bytes();
                client.handle_bytes(now, &bytes);
                device.handle_bytes(now, &bytes);
                decoder.push(&bytes);
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
                    if let Some(b) = bytes.get_mut(at as usize) {
                        *b ^= mask;
                    }
                }
                if let Some(cut) = cut {
                    *pending = bytes.split_off((cut as usize).min(bytes.len()));
                }
                if towards_client {
                    client.handle_bytes(now, &bytes);
                } else {
                    device.handle_bytes(now, &bytes);
                }
                decoder.push(&bytes);
            }
            Op::Advance(by) => {
                now += ms(by);
                client.handle_timeout(now);
                device.handle_timeout(now);
            }
            Op::StartCapture => client.start_capture(now),
            Op::StartCommand(i) => client.start_command(
                now,
                Instruction::ALL[usize::from(i) % Instruction::ALL.len()],
            ),
            Op::Cancel => client.cancel(),
            Op::Finger(kind) => device.set_finger(match kind % 3 {
                0 => OnSensor::Absent,
                1 => OnSensor::good(pixels()).unwrap(),
                _ => OnSensor::smudged(pixels()).unwrap(),
            }),
            Op::CorruptNext(n) => device.corrupt_next(u32::from(n % 4)),
            Op::Content(content) => {
                let _ = Instruction::from_content(&content);
                let _ = Ack::from_content(&content).map(|ack| ack.score());
                let _ = SysPara::decode(&content);
                let _ = FingerImage::from_packed(&content);
                for pid in PIDS {
                    let _ = assembler.push(&Packet::new(pid, content.clone()));
                }
            }
        }
        while client.poll_event().is_some() {}
        while device.poll_event().is_some() {}
        while decoder.next_packet().is_some() {}
        assert!(decoder.buffered() < HEADER_LEN + MAX_CONTENT + 2);
    }

    // Resynchronisation: after any garbage, an idle line longer than a packet, then a packet.
    decoder.push(&[0u8; HEADER_LEN + MAX_CONTENT + 3]);
    let ack = Packet::new(Pid::Ack, Ack::code(Confirmation::Ok).content());
    decoder.push(&ack.to_bytes());
    let mut last = None;
    while let Some(item) = decoder.next_packet() {
        last = Some(item);
    }
    assert_eq!(last, Some(Ok(ack)));

    // Whatever happened, the client still captures a finger from a working module.
    let mut fresh = FingerprintDevice::new(DeviceConfig::default());
    fresh.set_finger(OnSensor::good(pixels()).unwrap());
    let mut client = FingerprintClient::new(ClientConfig {
        address: DeviceConfig::default().address,
        no_finger_after: Duration::from_secs(10),
        ..config
    });
    client.start_capture(now);
    let mut captured = false;
    let mut buf = Vec::new();
    for _ in 0..16 {
        buf.clear();
        client.poll_transmit(&mut buf);
        fresh.handle_bytes(now, &buf);
        buf.clear();
        fresh.poll_transmit(&mut buf);
        client.handle_bytes(now, &buf);
        while let Some(event) = client.poll_event() {
            match event {
                Event::Image(image) => {
                    assert_eq!(
                        image.pack(),
                        FingerImage::from_pixels(pixels()).unwrap().pack()
                    );
                    captured = true;
                }
                other => panic!("a working module gave {other:?}"),
            }
        }
        if captured {
            break;
        }
    }
    assert!(captured, "no finger captured from a working module");
});
