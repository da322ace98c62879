//! Fingerprint module: packets byte for byte, codes, image packing, client ↔ device.

use std::time::Duration;

use proptest::prelude::*;
use protocol::fingerprint::*;
use protocol::Millis;

use crate::hex;

fn gradient() -> Vec<u8> {
    (0..WIDTH * HEIGHT)
        .map(|i| ((i % WIDTH) ^ (i / WIDTH)) as u8)
        .collect()
}

#[test]
fn command_packets_byte_for_byte() {
    // SUM = PID 01 + LEN + content, by hand.
    let cases = [
        (Instruction::GenImg, "00 03 01 00 05"), // 01+00+03+01
        (Instruction::Img2Tz { buffer: 1 }, "00 04 02 01 00 08"), // 01+04+02+01
        (Instruction::Img2Tz { buffer: 2 }, "00 04 02 02 00 09"),
        (Instruction::Match, "00 03 03 00 07"),
        (Instruction::RegModel, "00 03 05 00 09"),
        (Instruction::UpImage, "00 03 0A 00 0E"),
        (Instruction::ReadSysPara, "00 03 0F 00 13"),
    ];
    for (instruction, tail) in cases {
        let expected = hex(&format!("EF 01 FF FF FF FF 01 {tail}"));
        let packet = Packet::new(Pid::Command, instruction.content());
        assert_eq!(packet.to_bytes(), expected, "{instruction:?}");
        let mut d = PacketDecoder::default();
        d.push(&expected);
        let decoded = d.next_packet().unwrap().unwrap();
        assert_eq!(Instruction::from_content(&decoded.content), Ok(instruction));
    }
}

#[test]
fn acks_byte_for_byte_and_every_confirmation_code() {
    assert_eq!(
        Packet::new(Pid::Ack, Ack::code(Confirmation::Ok).content()).to_bytes(),
        hex("EF 01 FF FF FF FF 07 00 03 00 00 0A")
    );
    assert_eq!(
        Packet::new(Pid::Ack, Ack::code(Confirmation::NoFinger).content()).to_bytes(),
        hex("EF 01 FF FF FF FF 07 00 03 02 00 0C")
    );
    let codes: Vec<u8> = Confirmation::ALL.iter().map(|c| c.code()).collect();
    assert_eq!(codes, hex("00 01 02 03 06 07 08 0A 1A"));
    for code in 0..=255u8 {
        let got = Ack::from_content(&[code]);
        match Confirmation::from_code(code) {
            Some(c) => assert_eq!(got, Ok(Ack::code(c))),
            None => assert_eq!(got, Err(MessageError::UnknownConfirmation(code))),
        }
    }
    let score = Ack {
        code: Confirmation::Ok,
        data: vec![0, 0x64],
    };
    assert_eq!(
        Ack::from_content(&score.content()).unwrap().score(),
        Some(100)
    );
}

#[test]
fn instruction_errors() {
    assert_eq!(
        Instruction::from_content(&[0x02, 3]),
        Err(MessageError::Parameters(2))
    );
    assert_eq!(
        Instruction::from_content(&[0x01, 0]),
        Err(MessageError::Parameters(1))
    );
    assert_eq!(
        Instruction::from_content(&[0x44]),
        Err(MessageError::UnknownInstruction(0x44))
    );
    assert_eq!(Instruction::from_content(&[]), Err(MessageError::Empty));
}

#[test]
fn sys_para_round_trips() {
    let p = DeviceConfig::default().sys_para;
    assert_eq!(SysPara::decode(&p.encode()), Ok(p));
    assert_eq!(
        SysPara::decode(&[0; 15]),
        Err(MessageError::SysParaLength(15))
    );
}

fn packets(bytes: &[u8]) -> Vec<Result<Packet, PacketError>> {
    let mut d = PacketDecoder::default();
    d.push(bytes);
    std::iter::from_fn(|| d.next_packet()).collect()
}

#[test]
fn malformed_packets_are_error_values() {
    let good = Packet::new(Pid::Ack, vec![0]);
    let with_good = |bad: &str| [hex(bad), good.to_bytes()].concat();
    let got = packets(&with_good("12 34 EF"));
    assert_eq!(
        got,
        vec![Err(PacketError::Garbage { skipped: 3 }), Ok(good.clone())]
    );
    let got = packets(&with_good("EF 01 FF FF FF FF 09 00 03 00 00 0C"));
    assert_eq!(got[0], Err(PacketError::UnknownPid(9)));
    assert_eq!(got.last(), Some(&Ok(good.clone())));
    let got = packets(&with_good("EF 01 FF FF FF FF 07 00 02 00 09"));
    assert_eq!(got[0], Err(PacketError::Length(2)));
    assert_eq!(got.last(), Some(&Ok(good.clone())));
    let got = packets(&with_good("EF 01 FF FF FF FF 02 10 00"));
    assert_eq!(
        got[0],
        Err(PacketError::Oversized {
            len: 0x1000,
            max: 258
        })
    );
    assert_eq!(got.last(), Some(&Ok(good.clone())));
    let got = packets(&with_good("EF 01 FF FF FF FF 07 00 03 00 00 0B"));
    assert_eq!(
        got,
        vec![
            Err(PacketError::Checksum {
                computed: 0x0A,
                received: 0x0B
            }),
            Ok(good.clone())
        ]
    );
    let bytes = good.to_bytes();
    let mut d = PacketDecoder::default();
    d.push(&bytes[..10]);
    assert_eq!(d.next_packet(), None, "truncated: waits");
    d.push(&bytes[10..]);
    assert_eq!(d.next_packet(), Some(Ok(good)));
}

#[test]
fn image_packs_into_288_packets_of_128_bytes() {
    let img = FingerImage::from_pixels(gradient()).unwrap();
    let packets = img.to_packets(DEFAULT_ADDRESS);
    assert_eq!(packets.len(), 288);
    assert!(packets.iter().all(|p| p.content.len() == DATA_PACKET_LEN));
    assert!(packets[..287].iter().all(|p| p.pid == Pid::Data));
    assert_eq!(packets[287].pid, Pid::EndData);
    // First two pixels 0x00, 0x01 → high nibbles 0, 0; pixels 16, 17 → 0x11.
    assert_eq!(packets[0].content[0], 0x00);
    assert_eq!(packets[0].content[8], 0x11);
    let mut asm = ImageAssembler::default();
    let mut out = None;
    for p in &packets {
        out = asm.push(p).unwrap();
    }
    let back = out.unwrap();
    assert_eq!(back.pixels()[16], 0x11, "nibble 1 expands to 17");
    assert_eq!(back.pack(), img.pack());
    assert_eq!(
        FingerImage::from_pixels(vec![0; 10]),
        Err(ImageError::Size(10))
    );
}

#[test]
fn assembler_rejects_short_and_long_images() {
    let mut asm = ImageAssembler::default();
    assert_eq!(
        asm.push(&Packet::new(Pid::EndData, vec![0; 128])),
        Err(ImageError::TooShort(128))
    );
    for _ in 0..288 {
        asm.push(&Packet::new(Pid::Data, vec![0; 128])).unwrap();
    }
    assert_eq!(
        asm.push(&Packet::new(Pid::Data, vec![0; 1])),
        Err(ImageError::TooLong)
    );
    assert_eq!(
        asm.push(&Packet::new(Pid::Ack, vec![0])),
        Err(ImageError::UnexpectedPacket(Pid::Ack))
    );
}

proptest! {
    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut d = PacketDecoder::default();
        for chunk in bytes.chunks(7) {
            d.push(&[0xEF, 0x01]);
            d.push(chunk);
            while let Some(p) = d.next_packet() {
                if let Ok(p) = p {
                    let _ = Instruction::from_content(&p.content);
                    let _ = Ack::from_content(&p.content);
                }
            }
        }
    }

    #[test]
    fn decoder_is_independent_of_chunking(cut in 1usize..300) {
        let img = FingerImage::from_pixels(gradient()).unwrap();
        let expected = img.to_packets(DEFAULT_ADDRESS);
        let bytes: Vec<u8> = expected.iter().flat_map(Packet::to_bytes).collect();
        let mut d = PacketDecoder::default();
        let mut got = Vec::new();
        for chunk in bytes.chunks(cut) {
            d.push(chunk);
            while let Some(p) = d.next_packet() { got.push(p.unwrap()); }
        }
        prop_assert_eq!(got, expected);
    }
}

// ---------------------------------------------------------------- client ↔ device

struct Pair {
    client: FingerprintClient,
    device: FingerprintDevice,
    now: Millis,
    events: Vec<Event>,
}

impl Pair {
    fn new(config: ClientConfig) -> Pair {
        Pair {
            client: FingerprintClient::new(config),
            device: FingerprintDevice::default(),
            now: Millis::ZERO,
            events: vec![],
        }
    }
    fn pump(&mut self) {
        for _ in 0..100 {
            let mut out = Vec::new();
            self.client.poll_transmit(&mut out);
            self.device.handle_bytes(self.now, &out);
            let mut back = Vec::new();
            self.device.poll_transmit(&mut back);
            self.client.handle_bytes(self.now, &back);
            self.events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
            if out.is_empty() && back.is_empty() {
                return;
            }
        }
        panic!("never quiet");
    }
    fn run(&mut self, max_steps: usize) -> Event {
        for _ in 0..max_steps {
            self.pump();
            if let Some(e) = self.events.first() {
                return e.clone();
            }
            let Some(t) = self.client.poll_timeout() else {
                break;
            };
            self.now = self.now.max(t);
            self.client.handle_timeout(self.now);
        }
        panic!("no event after {max_steps} steps");
    }
}

#[test]
fn capture_uploads_the_image() {
    let mut p = Pair::new(ClientConfig::default());
    p.device.set_finger(OnSensor::good(gradient()).unwrap());
    p.client.start_capture(p.now);
    let Event::Image(img) = p.run(10) else {
        panic!("{:?}", p.events)
    };
    assert_eq!(
        img.pack(),
        FingerImage::from_pixels(gradient()).unwrap().pack()
    );
}

#[test]
fn waits_for_a_finger_then_gives_up() {
    let mut p = Pair::new(ClientConfig {
        no_finger_after: Duration::from_secs(2),
        ..ClientConfig::default()
    });
    p.client.start_capture(p.now);
    assert_eq!(p.run(30), Event::NoFinger);
    assert_eq!(p.now, Millis(2000));
}

#[test]
fn a_finger_placed_later_is_captured() {
    let mut p = Pair::new(ClientConfig::default());
    p.client.start_capture(p.now);
    for _ in 0..3 {
        p.pump();
        let t = p.client.poll_timeout().unwrap();
        p.now = t;
        p.client.handle_timeout(t);
    }
    p.device.set_finger(OnSensor::good(gradient()).unwrap());
    assert!(matches!(p.run(10), Event::Image(_)));
    assert_eq!(p.now, Millis(600));
}

#[test]
fn smudged_finger_is_reported_before_upload() {
    let mut p = Pair::new(ClientConfig::default());
    p.device.set_finger(OnSensor::smudged(gradient()).unwrap());
    p.client.start_capture(p.now);
    assert_eq!(
        p.run(10),
        Event::Failed {
            instruction: Instruction::Img2Tz { buffer: 1 },
            code: Confirmation::TooMessy
        }
    );
}

#[test]
fn corrupted_image_packets_restart_the_upload() {
    let mut p = Pair::new(ClientConfig {
        check_quality: false,
        ..ClientConfig::default()
    });
    p.device.set_finger(OnSensor::good(gradient()).unwrap());
    p.client.start_capture(p.now);
    // GenImg ack goes through; then corrupt the UpImage ack's first data packet.
    let mut out = Vec::new();
    p.client.poll_transmit(&mut out);
    p.device.handle_bytes(p.now, &out);
    let mut back = Vec::new();
    p.device.poll_transmit(&mut back);
    p.client.handle_bytes(p.now, &back);
    p.device.corrupt_next(3); // the UpImage ack, then two data packets
    assert!(matches!(p.run(20), Event::Image(_)), "{:?}", p.events);
    // Also a corrupted packet in the middle of an upload.
    let mut p = Pair::new(ClientConfig {
        check_quality: false,
        ..ClientConfig::default()
    });
    p.device.set_finger(OnSensor::good(gradient()).unwrap());
    p.client.start_command(p.now, Instruction::UpImage);
    p.pump();
    assert_eq!(
        p.events,
        vec![Event::Answered {
            instruction: Instruction::UpImage,
            ack: Ack::code(Confirmation::CaptureFailed)
        }],
        "nothing captured yet"
    );
    p.events.clear();
    p.client.start_command(p.now, Instruction::GenImg);
    p.run(5);
    p.events.clear();
    p.client.start_command(p.now, Instruction::UpImage);
    let mut out = Vec::new();
    p.client.poll_transmit(&mut out);
    p.device.handle_bytes(p.now, &out);
    let mut back = Vec::new();
    p.device.poll_transmit(&mut back);
    back[12 + 139 * 100 + 50] ^= 0xFF; // a byte inside data packet 100
    p.client.handle_bytes(p.now, &back);
    assert!(matches!(p.run(20), Event::Image(_)), "{:?}", p.events);
}

#[test]
fn corrupted_command_is_answered_packet_error_and_resent() {
    let mut p = Pair::new(ClientConfig::default());
    p.device.set_finger(OnSensor::good(gradient()).unwrap());
    p.client.start_command(p.now, Instruction::ReadSysPara);
    let mut out = Vec::new();
    p.client.poll_transmit(&mut out);
    *out.last_mut().unwrap() ^= 1;
    p.device.handle_bytes(p.now, &out);
    let mut back = Vec::new();
    p.device.poll_transmit(&mut back);
    p.client.handle_bytes(p.now, &back);
    let Event::Answered { ack, .. } = p.run(5) else {
        panic!()
    };
    assert_eq!(
        SysPara::decode(&ack.data),
        Ok(DeviceConfig::default().sys_para)
    );
    assert!(matches!(
        p.device.poll_event(),
        Some(DeviceEvent::BadPacket(PacketError::Checksum { .. }))
    ));
}

#[test]
fn enrol_and_match_commands() {
    let mut p = Pair::new(ClientConfig::default());
    p.device.set_finger(OnSensor::good(gradient()).unwrap());
    for instruction in [
        Instruction::GenImg,
        Instruction::Img2Tz { buffer: 1 },
        Instruction::Img2Tz { buffer: 2 },
    ] {
        p.events.clear();
        p.client.start_command(p.now, instruction);
        assert!(matches!(
            p.run(5),
            Event::Answered {
                ack: Ack {
                    code: Confirmation::Ok,
                    ..
                },
                ..
            }
        ));
    }
    p.events.clear();
    p.client.start_command(p.now, Instruction::Match);
    let Event::Answered { ack, .. } = p.run(5) else {
        panic!()
    };
    assert_eq!((ack.code, ack.score()), (Confirmation::Ok, Some(100)));
    p.events.clear();
    p.client.start_command(p.now, Instruction::RegModel);
    assert!(matches!(
        p.run(5),
        Event::Answered {
            ack: Ack {
                code: Confirmation::Ok,
                ..
            },
            ..
        }
    ));
}

#[test]
fn silent_module_times_out() {
    let mut p = Pair::new(ClientConfig::default());
    p.client.start_capture(p.now);
    let mut out = Vec::new();
    for _ in 0..4 {
        p.client.poll_transmit(&mut out);
        let t = p.client.poll_timeout().unwrap();
        p.now = t;
        p.client.handle_timeout(t);
    }
    assert_eq!(
        p.client.poll_event(),
        Some(Event::Timeout {
            instruction: Instruction::GenImg
        })
    );
    assert_eq!(p.now, Millis(4000));
    assert_eq!(out.len(), 4 * 12, "sent GenImg four times");
}
