//! SAM_V card reader: frames byte for byte, every status, malformed input, client ↔ device.

use std::time::Duration;

use proptest::prelude::*;
use protocol::card_reader::frame::{FrameError, MAX_ANSWER_LEN};
use protocol::card_reader::*;
use protocol::Millis;

use crate::hex;

fn citizen_text() -> CardText {
    CardText {
        name: "张三丰".into(),
        sex: Sex::Male,
        nation: Nation::new(1).unwrap(),
        birth_date: CardDate::new(1990, 3, 7).unwrap(),
        address: "北京市东城区景山前街4号".into(),
        id_number: "11010119900307123X".into(),
        authority: "北京市公安局东城分局".into(),
        valid_from: CardDate::new(2020, 1, 1).unwrap(),
        valid_until: ValidUntil::Date(CardDate::new(2040, 1, 1).unwrap()),
    }
}

/// Smallest thing `photo_jpeg` accepts: SOI, some bytes, EOI.
fn tiny_jpeg() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0];
    j.extend((0..600u32).map(|i| (i * 7 % 251) as u8 | 1));
    j.extend([0xFF, 0xD9]);
    j
}

fn card() -> Card {
    Card::new(&citizen_text(), &tiny_jpeg(), vec![0x43; 1024]).unwrap()
}

// ---------------------------------------------------------------- frames byte for byte

#[test]
fn find_card_is_the_documented_frame() {
    assert_eq!(
        Command::FindCard.to_frame(),
        hex("AA AA AA 96 69 00 03 20 01 22")
    );
}

#[test]
fn every_command_frame_byte_for_byte() {
    // CHK = 00 ^ 03 ^ CMD ^ PARA, worked out by hand:
    let cases = [
        (Command::ResetSam, "10 FF EC"),                 // 03^10=13, 13^FF=EC
        (Command::SamStatus, "11 FF ED"),                // 03^11=12, 12^FF=ED
        (Command::SamId, "12 FF EE"),                    // 03^12=11, 11^FF=EE
        (Command::FindCard, "20 01 22"),                 // 03^20=23, 23^01=22
        (Command::SelectCard, "20 02 21"),               // 23^02=21
        (Command::ReadTextPhoto, "30 01 32"),            // 03^30=33, 33^01=32
        (Command::ReadExtraAddress, "30 03 30"),         // 33^03=30
        (Command::ReadTextPhotoFingerprint, "30 10 23"), // 33^10=23
    ];
    for (command, tail) in cases {
        let expected = hex(&format!("AA AA AA 96 69 00 03 {tail}"));
        assert_eq!(command.to_frame(), expected, "{command:?}");
        let mut d = CommandDecoder::default();
        d.push(&expected);
        assert_eq!(d.next_command(), Some(Ok(command)));
        assert_eq!(d.next_command(), None);
    }
}

#[test]
fn status_answers_byte_for_byte() {
    // LEN 00 04, body 00 00 SW3, CHK = 04 ^ SW3.
    let cases = [
        (Sw3::NoCard, "80 84"),
        (Sw3::CardFound, "9F 9B"),
        (Sw3::Success, "90 94"),
        (Sw3::ReadFailed, "41 45"),
        (Sw3::ChecksumError, "10 14"),
    ];
    for (status, tail) in cases {
        let expected = hex(&format!("AA AA AA 96 69 00 04 00 00 {tail}"));
        assert_eq!(Answer::status(status).to_frame(), expected, "{status:?}");
    }
}

#[test]
fn read_30_10_answer_is_2321_bytes() {
    let data = ReadData {
        text: card().text.to_vec(),
        photo: card().photo.to_vec(),
        fingerprint: Some(vec![0; 1024]),
    };
    let frame = Answer {
        status: Sw3::Success,
        data: data.encode(),
    }
    .to_frame();
    assert_eq!(frame.len(), 2321);
    assert_eq!(&frame[5..7], &MAX_ANSWER_LEN.to_be_bytes());
    // Length prefixes 0100 0400 0400 right after SW1 SW2 SW3.
    assert_eq!(&frame[10..16], &hex("01 00 04 00 04 00")[..]);
}

// ---------------------------------------------------------------- status codes

#[test]
fn every_sw3_code_round_trips_with_a_description() {
    let codes: Vec<u8> = Sw3::ALL.iter().map(|s| s.code()).collect();
    assert_eq!(
        codes,
        hex("90 9F 91 10 11 21 23 24 31 32 33 40 41 60 80 81"),
        "the sixteen codes of 9.1"
    );
    for &status in Sw3::ALL {
        assert_eq!(Sw3::from_code(status.code()), Some(status));
        assert!(!status.description().is_empty());
        let answer = Answer::status(status);
        let mut d = AnswerDecoder::default();
        d.push(&answer.to_frame());
        assert_eq!(d.next_answer(), Some(Ok(answer)));
    }
    assert_eq!(Sw3::NoCard.to_string(), "80 no card found (寻找证/卡失败)");
}

#[test]
fn every_undefined_status_byte_is_an_error_value() {
    for code in 0..=255u8 {
        let mut frame = Vec::new();
        protocol::card_reader::frame::encode_frame(&[0, 0, code], &mut frame);
        let mut d = AnswerDecoder::default();
        d.push(&frame);
        let got = d.next_answer().unwrap();
        match Sw3::from_code(code) {
            Some(s) => assert_eq!(got, Ok(Answer::status(s))),
            None => assert_eq!(got, Err(DecodeError::UnknownStatus(code))),
        }
    }
}

// ---------------------------------------------------------------- malformed frames

fn answers(bytes: &[u8]) -> Vec<Result<Answer, DecodeError>> {
    let mut d = AnswerDecoder::default();
    d.push(bytes);
    std::iter::from_fn(|| d.next_answer()).collect()
}

#[test]
fn garbage_before_a_frame_is_skipped_and_reported() {
    let mut bytes = hex("01 02 AA AA 03");
    bytes.extend(Answer::status(Sw3::CardFound).to_frame());
    assert_eq!(
        answers(&bytes),
        vec![
            Err(FrameError::Garbage { skipped: 5 }.into()),
            Ok(Answer::status(Sw3::CardFound))
        ]
    );
}

#[test]
fn a_preamble_split_across_reads_is_kept() {
    let frame = Answer::status(Sw3::NoCard).to_frame();
    let mut d = AnswerDecoder::default();
    d.push(&[0x00, 0xAA, 0xAA]);
    assert_eq!(
        d.next_answer(),
        Some(Err(FrameError::Garbage { skipped: 1 }.into()))
    );
    assert_eq!(d.next_answer(), None);
    d.push(&frame[2..]);
    assert_eq!(d.next_answer(), Some(Ok(Answer::status(Sw3::NoCard))));
}

#[test]
fn wrong_length_is_an_error_then_resync() {
    let mut bytes = hex("AA AA AA 96 69 00 02 00 02");
    bytes.extend(Answer::status(Sw3::Success).to_frame());
    let got = answers(&bytes);
    assert_eq!(got[0], Err(FrameError::Length { len: 2, min: 4 }.into()));
    assert_eq!(got.last(), Some(&Ok(Answer::status(Sw3::Success))));
}

#[test]
fn oversized_is_an_error_then_resync() {
    let mut bytes = hex("AA AA AA 96 69 FF FF");
    bytes.extend(Answer::status(Sw3::Success).to_frame());
    let got = answers(&bytes);
    assert_eq!(
        got[0],
        Err(FrameError::Oversized {
            len: 0xFFFF,
            max: MAX_ANSWER_LEN
        }
        .into())
    );
    assert_eq!(got.last(), Some(&Ok(Answer::status(Sw3::Success))));
}

#[test]
fn bad_checksum_is_an_error_and_the_next_frame_decodes() {
    let mut bytes = hex("AA AA AA 96 69 00 04 00 00 90 95");
    bytes.extend(Answer::status(Sw3::NoCard).to_frame());
    assert_eq!(
        answers(&bytes),
        vec![
            Err(FrameError::Checksum {
                computed: 0x94,
                received: 0x95
            }
            .into()),
            Ok(Answer::status(Sw3::NoCard))
        ]
    );
}

#[test]
fn truncated_frame_waits_for_more() {
    let frame = Answer::status(Sw3::Success).to_frame();
    let mut d = AnswerDecoder::default();
    d.push(&frame[..8]);
    assert_eq!(d.next_answer(), None);
    assert_eq!(d.buffered(), 8);
    d.push(&frame[8..]);
    assert_eq!(d.next_answer(), Some(Ok(Answer::status(Sw3::Success))));
    assert_eq!(d.buffered(), 0);
}

#[test]
fn nonzero_sw1_sw2_and_unknown_commands_are_error_values() {
    assert_eq!(
        answers(&hex("AA AA AA 96 69 00 04 01 00 90 95")),
        vec![Err(DecodeError::StatusWord(1, 0))]
    );
    let mut d = CommandDecoder::default();
    d.push(&hex("AA AA AA 96 69 00 03 99 01 9B"));
    assert_eq!(
        d.next_command(),
        Some(Err(DecodeError::UnknownCommand { cmd: 0x99, para: 1 }))
    );
}

// ---------------------------------------------------------------- blocks

#[test]
fn text_block_round_trips_and_sits_at_the_documented_offsets() {
    let text = citizen_text();
    let block = text.encode().unwrap();
    assert_eq!(CardText::decode(&block), Ok(text));
    assert_eq!(
        &block[0..2],
        &"张".encode_utf16().next().unwrap().to_le_bytes()
    );
    assert_eq!(&block[6..8], &hex("20 00")[..], "name is space-padded");
    assert_eq!(&block[30..32], &hex("31 00")[..], "sex 1");
    assert_eq!(&block[32..36], &hex("30 00 31 00")[..], "nation 01");
    assert_eq!(&block[36..40], &hex("31 00 39 00")[..], "birth 19…");
    assert_eq!(
        &block[122..124],
        &hex("31 00")[..],
        "id number starts at 122"
    );
    assert_eq!(
        &block[156..158],
        &hex("58 00")[..],
        "id number ends with X at 156"
    );
    assert_eq!(&block[188..190], &hex("32 00")[..], "valid from 2…");
    assert_eq!(&block[204..206], &hex("32 00")[..], "valid until 2…");
    assert!(
        block[220..].chunks(2).all(|c| c == [0x20, 0x00]),
        "reserved is spaces"
    );
}

#[test]
fn long_term_validity_round_trips() {
    let text = CardText {
        valid_until: ValidUntil::LongTerm,
        sex: Sex::Female,
        ..citizen_text()
    };
    let block = text.encode().unwrap();
    assert_eq!(
        &block[204..208],
        &hex("7F 95 1F 67")[..],
        "长 U+957F 期 U+671F"
    );
    assert_eq!(CardText::decode(&block), Ok(text));
}

fn with_field(at: usize, s: &str) -> Vec<u8> {
    let mut block = citizen_text().encode().unwrap().to_vec();
    for (i, u) in s.encode_utf16().enumerate() {
        block[at + 2 * i..at + 2 * i + 2].copy_from_slice(&u.to_le_bytes());
    }
    block
}

#[test]
fn text_block_errors_name_the_field() {
    let invalid = |field, value: &str| {
        Err(TextError::Invalid {
            field,
            value: value.into(),
        })
    };
    assert_eq!(CardText::decode(&with_field(30, "3")), invalid("sex", "3"));
    assert_eq!(
        CardText::decode(&with_field(32, "57")),
        invalid("nation", "57")
    );
    assert_eq!(
        CardText::decode(&with_field(32, "00")),
        invalid("nation", "00")
    );
    assert_eq!(
        CardText::decode(&with_field(36, "19900230")),
        invalid("birth_date", "19900230")
    );
    assert_eq!(
        CardText::decode(&with_field(204, "长久")),
        invalid("valid_until", "长久400101")
    );
    assert_eq!(
        CardText::decode(&with_field(122, "A")),
        invalid("id_number", "A1010119900307123X")
    );
    let mut surrogate = citizen_text().encode().unwrap();
    surrogate[52..54].copy_from_slice(&0xD800u16.to_le_bytes());
    assert_eq!(
        CardText::decode(&surrogate),
        Err(TextError::NotUcs2 { field: "address" })
    );
    assert_eq!(
        CardText::decode(&[0x20; 255]),
        Err(TextError::BlockLength(255))
    );
    let long = CardText {
        name: "一二三四五六七八九十一二三四五六".into(),
        ..citizen_text()
    };
    assert_eq!(
        long.encode(),
        Err(TextError::TooLong {
            field: "name",
            chars: 16,
            max: 15
        })
    );
    let emoji = CardText {
        address: "🏠".into(),
        ..citizen_text()
    };
    assert_eq!(emoji.encode(), Err(TextError::NotUcs2 { field: "address" }));
}

#[test]
fn photo_block_pads_and_trims_after_eoi() {
    let jpeg = tiny_jpeg();
    let block = encode_photo(&jpeg).unwrap();
    assert_eq!(block.len(), 1024);
    assert!(block[jpeg.len()..].iter().all(|&b| b == 0));
    assert_eq!(photo_jpeg(&block), Some(&jpeg[..]));
    assert_eq!(photo_jpeg(&[0u8; 1024]), None, "empty block");
    assert_eq!(
        photo_jpeg(&[0x57, 0x4C, 0x54, 0x00]),
        None,
        "vendor WLT data"
    );
    assert_eq!(
        encode_photo(&vec![0xFF; 1025]),
        Err(PhotoError::TooLarge(1025))
    );
    assert_eq!(encode_photo(&[1, 2, 3, 4]), Err(PhotoError::NotJpeg));
    let full: Vec<u8> = [&[0xFF, 0xD8][..], &[7; 1020], &[0xFF, 0xD9]].concat();
    assert_eq!(
        photo_jpeg(&encode_photo(&full).unwrap()),
        Some(&full[..]),
        "exactly 1024 bytes"
    );
}

#[test]
fn read_answers_round_trip() {
    let c = card();
    for fingerprint in [None, Some(vec![]), Some(vec![1; 512]), Some(vec![2; 1024])] {
        let data = ReadData {
            text: c.text.to_vec(),
            photo: c.photo.to_vec(),
            fingerprint,
        };
        let command = if data.fingerprint.is_some() {
            Command::ReadTextPhotoFingerprint
        } else {
            Command::ReadTextPhoto
        };
        let answer = Answer {
            status: Sw3::Success,
            data: data.encode(),
        };
        let decoded = answers(&answer.to_frame()).remove(0).unwrap();
        assert_eq!(ReadData::decode(command, &decoded.data), Ok(data));
    }
    let extra = encode_extra_address("北京市西城区").unwrap();
    assert_eq!(decode_extra_address(&extra).as_deref(), Ok("北京市西城区"));
}

#[test]
fn read_answer_layout_errors() {
    let c = card();
    let good = ReadData {
        text: c.text.to_vec(),
        photo: c.photo.to_vec(),
        fingerprint: Some(vec![0; 512]),
    }
    .encode();
    assert_eq!(
        ReadData::decode_text_photo(&[1, 0]),
        Err(ReadDataError::TooShort(2))
    );
    let mut bad = good.clone();
    bad[0] = 2;
    assert_eq!(
        ReadData::decode_with_fingerprint(&bad),
        Err(ReadDataError::TextLength(0x0200))
    );
    let mut bad = good.clone();
    bad[2] = 3;
    assert_eq!(
        ReadData::decode_with_fingerprint(&bad),
        Err(ReadDataError::PhotoLength(0x0300))
    );
    let mut bad = good.clone();
    bad[4..6].copy_from_slice(&100u16.to_be_bytes());
    assert_eq!(
        ReadData::decode_with_fingerprint(&bad),
        Err(ReadDataError::FingerprintLength(100))
    );
    assert_eq!(
        ReadData::decode_with_fingerprint(&good[..good.len() - 1]),
        Err(ReadDataError::Mismatch {
            announced: 256 + 1024 + 512,
            received: 256 + 1024 + 511
        })
    );
}

// ---------------------------------------------------------------- property tests

fn stream_of_frames() -> (Vec<u8>, Vec<Answer>) {
    let c = card();
    let read = Answer {
        status: Sw3::Success,
        data: ReadData {
            text: c.text.to_vec(),
            photo: c.photo.to_vec(),
            fingerprint: Some(vec![9; 512]),
        }
        .encode(),
    };
    let list: Vec<Answer> = Sw3::ALL
        .iter()
        .map(|&s| Answer::status(s))
        .chain([read])
        .collect();
    let bytes = list.iter().flat_map(Answer::to_frame).collect();
    (bytes, list)
}

proptest! {
    #[test]
    fn answer_decoder_is_independent_of_chunking(cuts in proptest::collection::vec(1usize..400, 0..40)) {
        let (bytes, expected) = stream_of_frames();
        let mut d = AnswerDecoder::default();
        let mut got = Vec::new();
        let mut rest = &bytes[..];
        for cut in cuts.into_iter().chain(std::iter::repeat(1)) {
            if rest.is_empty() { break; }
            let n = cut.min(rest.len());
            d.push(&rest[..n]);
            rest = &rest[n..];
            while let Some(a) = d.next_answer() { got.push(a.unwrap()); }
        }
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn answer_decoder_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..32)) {
        let mut d = AnswerDecoder::default();
        for chunk in chunks {
            // Splice in preambles so the decoder reaches past the resync path.
            d.push(&[0xAA, 0xAA, 0xAA, 0x96, 0x69]);
            d.push(&chunk);
            while d.next_answer().is_some() {}
        }
    }

    #[test]
    fn command_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut d = CommandDecoder::default();
        d.push(&bytes);
        while d.next_command().is_some() {}
        prop_assert!(d.buffered() <= bytes.len());
    }

    #[test]
    fn text_decode_never_panics(block in proptest::collection::vec(any::<u8>(), 256)) {
        let _ = CardText::decode(&block);
        let _ = photo_jpeg(&block);
        let _ = ReadData::decode_with_fingerprint(&block);
    }

    #[test]
    fn text_round_trips(name in "[\\u{4e00}-\\u{9fa5}]{1,15}", address in "[\\u{4e00}-\\u{9fa5}0-9]{0,35}", nation in 1u8..=56) {
        let text = CardText { name, address, nation: Nation::new(nation).unwrap(), ..citizen_text() };
        prop_assert_eq!(CardText::decode(&text.encode().unwrap()), Ok(text));
    }
}

// ---------------------------------------------------------------- client ↔ device

/// Rewrites bytes on their way across the virtual wire.
type Tamper = Box<dyn FnMut(&mut Vec<u8>)>;

/// A client and a device on one virtual clock, joined by a wire the test can tamper with.
struct Pair {
    client: CardReaderClient,
    device: CardReaderDevice,
    now: Millis,
    events: Vec<Event>,
    /// Applied to host → reader bytes before the device sees them.
    to_device: Tamper,
    /// Applied to reader → host bytes before the client sees them.
    to_client: Tamper,
}

impl Pair {
    fn new(config: ClientConfig, device: DeviceConfig) -> Pair {
        Pair {
            client: CardReaderClient::new(config),
            device: CardReaderDevice::new(device),
            now: Millis::ZERO,
            events: Vec::new(),
            to_device: Box::new(|_| {}),
            to_client: Box::new(|_| {}),
        }
    }

    fn pump(&mut self) {
        for _ in 0..100 {
            let mut out = Vec::new();
            self.client.poll_transmit(&mut out);
            let sent = !out.is_empty();
            if sent {
                (self.to_device)(&mut out);
                self.device.handle_bytes(self.now, &out);
            }
            let mut back = Vec::new();
            self.device.poll_transmit(&mut back);
            let answered = !back.is_empty();
            if answered {
                (self.to_client)(&mut back);
                self.client.handle_bytes(self.now, &back);
            }
            self.events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
            if !sent && !answered {
                return;
            }
        }
        panic!("the pair never went quiet");
    }

    /// Advances to the next deadline of either side; false when neither has one.
    fn step(&mut self) -> bool {
        self.pump();
        let next = match (self.client.poll_timeout(), self.device.poll_timeout()) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return false,
        };
        self.now = self.now.max(next);
        self.device.handle_timeout(self.now);
        self.client.handle_timeout(self.now);
        self.pump();
        true
    }

    /// Runs until the client reports a final event, in at most `max_steps` steps.
    fn run(&mut self, max_steps: usize) -> Event {
        for _ in 0..max_steps {
            if let Some(e) = self.events.iter().find(|e| !matches!(e, Event::CardFound)) {
                return e.clone();
            }
            if !self.step() {
                break;
            }
        }
        self.events
            .iter()
            .find(|e| !matches!(e, Event::CardFound))
            .cloned()
            .unwrap_or_else(|| panic!("no final event after {max_steps} steps: {:?}", self.events))
    }
}

fn pair() -> Pair {
    Pair::new(ClientConfig::default(), DeviceConfig::default())
}

fn expect_card(event: Event) -> CardData {
    match event {
        Event::CardRead(card) => *card,
        other => panic!("expected a card, got {other:?}"),
    }
}

#[test]
fn full_read_with_fingerprints() {
    let mut p = pair();
    p.device.insert_card(card());
    p.client.start_read(p.now);
    let data = expect_card(p.run(20));
    assert_eq!(data.text, citizen_text());
    assert_eq!(data.photo_jpeg(), Some(&tiny_jpeg()[..]));
    assert_eq!(data.fingerprint, vec![0x43; 1024]);
    assert_eq!(p.events[0], Event::CardFound);
    assert!(!p.client.is_busy());
}

#[test]
fn read_30_01_has_no_fingerprint() {
    let mut p = Pair::new(
        ClientConfig {
            read_command: Command::ReadTextPhoto,
            ..ClientConfig::default()
        },
        DeviceConfig::default(),
    );
    p.device.insert_card(card());
    p.client.start_read(p.now);
    assert!(expect_card(p.run(20)).fingerprint.is_empty());
}

#[test]
fn the_host_sends_exactly_find_select_read() {
    let mut p = pair();
    let sent = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = sent.clone();
    p.to_device = Box::new(move |b| log.borrow_mut().extend_from_slice(b));
    p.device.insert_card(card());
    p.client.start_read(p.now);
    expect_card(p.run(20));
    assert_eq!(
        *sent.borrow(),
        hex("AA AA AA 96 69 00 03 20 01 22  AA AA AA 96 69 00 03 20 02 21  AA AA AA 96 69 00 03 30 10 23")
    );
}

#[test]
fn polls_every_500_ms_until_a_card_arrives() {
    let mut p = pair();
    p.client.start_read(p.now);
    for _ in 0..6 {
        p.step();
    }
    assert!(p.events.is_empty());
    assert!(
        p.now >= Millis(2500) && p.now <= Millis(3000),
        "{:?}",
        p.now
    );
    p.device.insert_card(card());
    expect_card(p.run(20));
    assert!(p.now <= Millis(3500));
}

#[test]
fn no_card_after_the_configured_wait() {
    let mut p = Pair::new(
        ClientConfig {
            no_card_after: Duration::from_secs(3),
            ..ClientConfig::default()
        },
        DeviceConfig::default(),
    );
    p.client.start_read(p.now);
    assert_eq!(p.run(50), Event::NoCard);
    assert_eq!(p.now, Millis(3000));
}

#[test]
fn a_card_must_leave_the_field_before_it_is_found_again() {
    let mut p = Pair::new(
        ClientConfig {
            no_card_after: Duration::from_secs(2),
            ..ClientConfig::default()
        },
        DeviceConfig::default(),
    );
    p.device.insert_card(card());
    p.client.start_read(p.now);
    expect_card(p.run(20));
    p.events.clear();
    p.client.start_read(p.now);
    assert_eq!(p.run(50), Event::NoCard, "same card still in the field");
    p.device.remove_card();
    p.device.insert_card(card());
    p.events.clear();
    p.client.start_read(p.now);
    expect_card(p.run(20));
}

#[test]
fn card_removed_mid_read_is_a_clear_failure_without_data() {
    let mut p = Pair::new(
        ClientConfig::default(),
        DeviceConfig {
            read_delay: Duration::from_millis(400),
            ..DeviceConfig::default()
        },
    );
    p.device.insert_card(card());
    p.client.start_read(p.now);
    p.pump(); // find, select, read sent; the read answer is due at 400 ms
    assert_eq!(p.events, vec![Event::CardFound]);
    p.device.remove_card();
    let event = p.run(20);
    assert_eq!(
        event,
        Event::Failed {
            command: Command::ReadTextPhotoFingerprint,
            status: Sw3::ReadFailed
        }
    );
    assert!(
        !p.events.iter().any(|e| matches!(e, Event::CardRead(_))),
        "no stale data"
    );
}

#[test]
fn unreadable_card_fails_with_41() {
    let mut p = pair();
    p.device.insert_card(card());
    p.device.set_unreadable(true);
    p.client.start_read(p.now);
    assert_eq!(
        p.run(20),
        Event::Failed {
            command: Command::ReadTextPhotoFingerprint,
            status: Sw3::ReadFailed
        }
    );
}

#[test]
fn three_corrupted_answers_then_success() {
    let mut p = pair();
    p.device.insert_card(card());
    p.device.corrupt_next(3);
    p.client.start_read(p.now);
    let data = expect_card(p.run(20));
    assert_eq!(data.text, citizen_text());
}

#[test]
fn a_lost_card_found_answer_does_not_lose_the_card() {
    // Regression: the reader counts the card as found when it answers 9F; if that answer is
    // corrupted, every resent find gets 80 until the card leaves. The client selects anyway.
    let mut p = pair();
    p.device.insert_card(card());
    p.device.corrupt_next(1);
    p.client.start_read(p.now);
    expect_card(p.run(20));
    assert_eq!(p.now, Millis::ZERO, "no poll interval wasted");
}

#[test]
fn a_lost_no_card_answer_keeps_polling() {
    let mut p = Pair::new(
        ClientConfig {
            no_card_after: Duration::from_secs(2),
            ..ClientConfig::default()
        },
        DeviceConfig::default(),
    );
    p.device.corrupt_next(1);
    p.client.start_read(p.now);
    assert_eq!(p.run(30), Event::NoCard);
}

#[test]
fn four_corrupted_answers_exhaust_the_retries() {
    let mut p = pair();
    p.device.insert_card(card());
    p.device.corrupt_next(4);
    p.client.start_read(p.now);
    assert!(matches!(
        p.run(20),
        Event::Corrupted {
            command: Command::FindCard,
            error: DecodeError::Frame(FrameError::Checksum { .. })
        }
    ));
}

#[test]
fn corrupted_commands_are_answered_10_and_resent() {
    let mut p = pair();
    let mut budget = 2;
    p.to_device = Box::new(move |b| {
        if budget > 0 {
            budget -= 1;
            if let Some(x) = b.last_mut() {
                *x ^= 1;
            }
        }
    });
    p.device.insert_card(card());
    p.client.start_read(p.now);
    expect_card(p.run(20));
    let mut events = Vec::new();
    while let Some(e) = p.device.poll_event() {
        events.push(e);
    }
    assert!(matches!(
        events[0],
        DeviceEvent::BadFrame(DecodeError::Frame(FrameError::Checksum { .. }))
    ));
}

#[test]
fn garbage_on_the_line_is_skipped() {
    let mut p = pair();
    p.to_client = Box::new(|b| {
        let mut noisy = hex("00 FF AA 13 AA AA");
        noisy.append(b);
        *b = noisy;
    });
    p.device.insert_card(card());
    p.client.start_read(p.now);
    expect_card(p.run(20));
    assert_eq!(p.client.garbage_bytes(), 6 * 3);
}

#[test]
fn answers_split_into_single_bytes_still_read() {
    let mut p = pair();
    p.device.insert_card(card());
    p.client.start_read(p.now);
    for _ in 0..3 {
        let mut out = Vec::new();
        p.client.poll_transmit(&mut out);
        p.device.handle_bytes(p.now, &out);
        let mut back = Vec::new();
        p.device.poll_transmit(&mut back);
        for b in back {
            p.client.handle_bytes(p.now, &[b]);
        }
    }
    let events: Vec<Event> = std::iter::from_fn(|| p.client.poll_event()).collect();
    assert!(
        matches!(events.as_slice(), [Event::CardFound, Event::CardRead(_)]),
        "{events:?}"
    );
}

#[test]
fn silent_reader_times_out_after_the_retries() {
    let mut p = pair();
    p.to_client = Box::new(|b| b.clear());
    p.client.start_read(p.now);
    assert_eq!(
        p.run(20),
        Event::Timeout {
            command: Command::FindCard
        }
    );
    assert_eq!(
        p.now,
        Millis(4 * 800),
        "first try plus three resends of 800 ms"
    );
}

#[test]
fn a_dropped_read_answer_is_resent_after_1100_ms() {
    // Let find and select through, then drop exactly the read answer.
    let mut p = pair();
    p.device.insert_card(card());
    p.client.start_read(p.now);
    let mut out = Vec::new();
    p.client.poll_transmit(&mut out);
    p.device.handle_bytes(p.now, &out);
    let mut back = Vec::new();
    p.device.poll_transmit(&mut back);
    p.client.handle_bytes(p.now, &back);
    out.clear();
    p.client.poll_transmit(&mut out);
    p.device.handle_bytes(p.now, &out);
    back.clear();
    p.device.poll_transmit(&mut back);
    p.device.drop_next(1);
    p.client.handle_bytes(p.now, &back);
    let data = expect_card(p.run(20));
    assert_eq!(data.text.name, "张三丰");
    assert_eq!(p.now, Millis(1100));
}

#[test]
fn single_commands_report_their_answer() {
    let mut p = pair();
    p.client.start_command(p.now, Command::SamId);
    let Event::Answered { command, answer } = p.run(5) else {
        panic!("{:?}", p.events)
    };
    assert_eq!(
        (command, answer.status, answer.data.len()),
        (Command::SamId, Sw3::Success, 16)
    );
    p.events.clear();
    p.client.start_command(p.now, Command::ReadExtraAddress);
    assert!(matches!(
        p.run(5),
        Event::Answered {
            answer: Answer {
                status: Sw3::ReadFailed,
                ..
            },
            ..
        }
    ));
}

#[test]
fn extra_address_is_read_or_empty() {
    let mut p = pair();
    p.device
        .insert_card(card().with_extra_address("北京市西城区").unwrap());
    p.client.start_read(p.now);
    expect_card(p.run(20));
    p.events.clear();
    p.client.start_command(p.now, Command::ReadExtraAddress);
    let Event::Answered { answer, .. } = p.run(5) else {
        panic!()
    };
    assert_eq!(
        decode_extra_address(&answer.data).as_deref(),
        Ok("北京市西城区")
    );
    p.device.insert_card(card());
    p.events.clear();
    p.client.start_read(p.now);
    expect_card(p.run(20));
    p.events.clear();
    p.client.start_command(p.now, Command::ReadExtraAddress);
    assert!(matches!(
        p.run(5),
        Event::Answered {
            answer: Answer {
                status: Sw3::ItemEmpty,
                ..
            },
            ..
        }
    ));
}

#[test]
fn bad_text_on_the_card_is_bad_data_not_a_card() {
    let mut bad = card();
    bad.text[30] = b'7';
    let mut p = pair();
    p.device.insert_card(bad);
    p.client.start_read(p.now);
    assert!(matches!(
        p.run(20),
        Event::BadData(CardDataError::Text(TextError::Invalid { field: "sex", .. }))
    ));
}

// Regression: the client took any answer as the answer to the command it was waiting for, so a
// late `80`/`9F` (the answer to an earlier find, e.g. one that was resent after a timeout)
// arriving while select or read was awaited was misread as "select failed" or a failed read.
// Statuses that cannot answer the awaited command are now dropped (counted as garbage) and the
// client keeps waiting for the real answer.
#[test]
fn a_late_find_answer_is_not_taken_for_the_select_or_read_answer() {
    let mut p = pair();
    let answers = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let seen = answers.clone();
    // Before the answer to select (the 2nd answer) and to read (the 3rd), the wire delivers a
    // stale `80` and a stale `9F`.
    p.to_client = Box::new(move |b| {
        seen.set(seen.get() + 1);
        if seen.get() >= 2 {
            let mut stale = Answer::status(Sw3::NoCard).to_frame();
            stale.extend(Answer::status(Sw3::CardFound).to_frame());
            stale.append(b);
            *b = stale;
        }
    });
    p.device.insert_card(card());
    p.client.start_read(p.now);
    let data = expect_card(p.run(20));
    assert_eq!(data.text, citizen_text());
    assert_eq!(p.client.stale_answers(), 4);
    let stale_len = (Answer::status(Sw3::NoCard).to_frame().len() * 2) as u64;
    assert_eq!(p.client.garbage_bytes(), stale_len * 2);
}

#[test]
fn a_late_select_answer_is_not_taken_for_the_find_answer() {
    let mut p = pair();
    let mut first = true;
    // A stale `81` before the answer to find card cannot answer it: dropped, the card is read.
    p.to_client = Box::new(move |b| {
        if std::mem::take(&mut first) {
            let mut stale = Answer::status(Sw3::SelectFailed).to_frame();
            stale.append(b);
            *b = stale;
        }
    });
    p.device.insert_card(card());
    p.client.start_read(p.now);
    expect_card(p.run(20));
    assert_eq!(p.client.stale_answers(), 1);
}
