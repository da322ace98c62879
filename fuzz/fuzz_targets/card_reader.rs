//! The SAM_V card reader (DOMAIN.md 9.1): the kiosk's `CardReaderClient` and the simulator's
//! `CardReaderDevice` fed arbitrary line noise, well-framed frames with arbitrary bodies, their
//! own exchanges with bytes flipped or cut, and arbitrary time; the raw frame decoders and the
//! card's blocks on the side. Checks: nothing panics, a decoder holds at most one frame's bytes,
//! it resynchronises on the next frame after any garbage, and the client still reads a card
//! afterwards.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use protocol::card_reader::frame::{encode_frame, HEADER_LEN, MAX_ANSWER_LEN, MAX_COMMAND_LEN};
use protocol::card_reader::*;
use protocol::Millis;

#[derive(Arbitrary, Debug)]
struct Input {
    poll_ms: u16,
    timeout_ms: u16,
    max_retries: u8,
    no_card_ms: u16,
    with_fingerprint: bool,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Line noise to both machines.
    Noise(Vec<u8>),
    /// A frame with a correct checksum around an arbitrary body (an answer to the client, a
    /// command to the device).
    Frame(Vec<u8>),
    /// What one side transmitted, delivered to the other, perhaps damaged.
    Deliver {
        to_client: bool,
        flip: Option<(u16, u8)>,
        cut: Option<u16>,
    },
    /// Time passes; both machines are told.
    Advance(u16),
    StartRead,
    StartCommand(u8),
    Cancel,
    Card(bool),
    Unreadable(bool),
    /// The card's blocks decoded directly.
    Blocks(Vec<u8>),
}

fn citizen_card() -> Card {
    let text = CardText {
        name: "张三丰".into(),
        sex: Sex::Male,
        nation: Nation::new(1).unwrap(),
        birth_date: CardDate::new(1990, 3, 7).unwrap(),
        address: "北京市东城区景山前街4号".into(),
        id_number: "11010119900307123X".into(),
        authority: "北京市公安局东城分局".into(),
        valid_from: CardDate::new(2020, 1, 1).unwrap(),
        valid_until: ValidUntil::Date(CardDate::new(2040, 1, 1).unwrap()),
    };
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend((0..300u32).map(|i| (i * 7 % 251) as u8 | 1));
    jpeg.extend([0xFF, 0xD9]);
    Card::new(&text, &jpeg, vec![0x43; 1024]).unwrap()
}

fn drain(client: &mut CardReaderClient, device: &mut CardReaderDevice) {
    while client.poll_event().is_some() {}
    while device.poll_event().is_some() {}
}

fuzz_target!(|input: Input| {
    let ms = |v: u16| Duration::from_millis(u64::from(v));
    let config = ClientConfig {
        poll_interval: ms(input.poll_ms),
        find_timeout: ms(input.timeout_ms),
        select_timeout: ms(input.timeout_ms),
        read_timeout: ms(input.timeout_ms),
        max_retries: u32::from(input.max_retries % 8),
        no_card_after: ms(input.no_card_ms),
        read_command: if input.with_fingerprint {
            Command::ReadTextPhotoFingerprint
        } else {
            Command::ReadTextPhoto
        },
    };
    let mut client = CardReaderClient::new(config.clone());
    let mut device = CardReaderDevice::new(DeviceConfig::default());
    device.insert_card(citizen_card());
    let mut answers = AnswerDecoder::default();
    let mut commands = CommandDecoder::default();
    let mut now = Millis::ZERO;
    let (mut to_device, mut to_client) = (Vec::new(), Vec::new());

    for op in input.ops {
        match op {
            Op::Noise(bytes) => {
                client.handle_bytes(now, &bytes);
                device.handle_bytes(now, &bytes);
                answers.push(&bytes);
                commands.push(&bytes);
            }
            Op::Frame(body) => {
                let mut frame = Vec::new();
                encode_frame(&body[..body.len().min(4096)], &mut frame);
                client.handle_bytes(now, &frame);
                device.handle_bytes(now, &frame);
                answers.push(&frame);
                commands.push(&frame);
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
                    let rest = bytes.split_off(usize::from(cut).min(bytes.len()));
                    *pending = rest;
                }
                if towards_client {
                    client.handle_bytes(now, &bytes);
                    answers.push(&bytes);
                } else {
                    device.handle_bytes(now, &bytes);
                    commands.push(&bytes);
                }
            }
            Op::Advance(by) => {
                now += ms(by);
                client.handle_timeout(now);
                device.handle_timeout(now);
            }
            Op::StartRead => client.start_read(now),
            Op::StartCommand(i) => {
                client.start_command(now, Command::ALL[usize::from(i) % Command::ALL.len()])
            }
            Op::Cancel => client.cancel(),
            Op::Card(true) => device.insert_card(citizen_card()),
            Op::Card(false) => device.remove_card(),
            Op::Unreadable(on) => device.set_unreadable(on),
            Op::Blocks(data) => {
                for command in [Command::ReadTextPhoto, Command::ReadTextPhotoFingerprint] {
                    let _ = ReadData::decode(command, &data);
                }
                let _ = CardText::decode(&data);
                let _ = photo_jpeg(&data);
                let _ = decode_extra_address(&data);
            }
        }
        drain(&mut client, &mut device);
        while answers.next_answer().is_some() {}
        while commands.next_command().is_some() {}
        // Never more than one frame held back.
        assert!(answers.buffered() < HEADER_LEN + usize::from(MAX_ANSWER_LEN));
        assert!(commands.buffered() < HEADER_LEN + usize::from(MAX_COMMAND_LEN));
    }

    // Resynchronisation: after any garbage, an idle line longer than a frame, then a frame.
    let idle = vec![0u8; HEADER_LEN + usize::from(MAX_ANSWER_LEN) + 1];
    answers.push(&idle);
    answers.push(&Answer::status(Sw3::CardFound).to_frame());
    let mut last = None;
    while let Some(item) = answers.next_answer() {
        last = Some(item);
    }
    assert_eq!(last, Some(Ok(Answer::status(Sw3::CardFound))));
    commands.push(&idle);
    commands.push(&Command::SamStatus.to_frame());
    let mut last = None;
    while let Some(item) = commands.next_command() {
        last = Some(item);
    }
    assert_eq!(last, Some(Ok(Command::SamStatus)));

    // Whatever happened, the client still reads a card from a working reader.
    let mut fresh = CardReaderDevice::new(DeviceConfig::default());
    fresh.insert_card(citizen_card());
    let config = ClientConfig {
        no_card_after: Duration::from_secs(10),
        ..config
    };
    let mut client = CardReaderClient::new(config);
    client.start_read(now);
    let mut read = false;
    let mut buf = Vec::new();
    for _ in 0..64 {
        buf.clear();
        client.poll_transmit(&mut buf);
        fresh.handle_bytes(now, &buf);
        fresh.handle_timeout(now);
        buf.clear();
        fresh.poll_transmit(&mut buf);
        client.handle_bytes(now, &buf);
        while let Some(event) = client.poll_event() {
            match event {
                Event::CardFound => {}
                Event::CardRead(_) => read = true,
                other => panic!("a working reader gave {other:?}"),
            }
        }
        if read {
            break;
        }
    }
    assert!(read, "no card read from a working reader");
});
