//! Byte-exact PDUs, the stream decoder, the text codec and a session pair on a virtual clock.

use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::time::Millis;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| b.is_ascii_hexdigit())
        .map(|b| char::from(b).to_digit(16).map_or(0, |d| d as u8))
        .collect();
    digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
}

/// 你好 to 13800138000 from 10690001, sequence 2, laid out by hand from SMPP 3.4 section 4.4.1.
const SUBMIT_SM_HELLO: &str = "
    00000038 00000004 00000000 00000002
    00
    00 00 3130363930303031 00
    02 01 3133383030313338303030 00
    00 00 00
    00
    00
    00 00 08 00
    04 4F60597D";

fn hello() -> Pdu {
    Pdu::request(
        2,
        Body::SubmitSm(Box::new(SubmitSm {
            source_addr: "10690001".into(),
            dest_addr_ton: 2,
            dest_addr_npi: 1,
            destination_addr: "13800138000".into(),
            data_coding: 0x08,
            short_message: vec![0x4F, 0x60, 0x59, 0x7D],
            ..SubmitSm::default()
        })),
    )
}

#[test]
fn submit_sm_is_the_spec_layout() {
    assert_eq!(hello().to_bytes(), Ok(hex(SUBMIT_SM_HELLO)));
    assert_eq!(Pdu::decode(&hex(SUBMIT_SM_HELLO)), Ok(hello()));
}

#[test]
fn bind_transmitter_is_the_spec_layout() {
    let pdu = Pdu::request(
        1,
        Body::BindTransmitter(Bind::transmitter("idkiosk", "secret", "")),
    );
    let bytes = "00000024 00000002 00000000 00000001
                 69646b696f736b00 73656372657400 00 34 00 00 00";
    assert_eq!(pdu.to_bytes(), Ok(hex(bytes)));
    assert_eq!(Pdu::decode(&hex(bytes)), Ok(pdu));
}

#[test]
fn responses_and_header_only_pdus() {
    let check = |pdu: Pdu, bytes: &str| {
        assert_eq!(pdu.to_bytes(), Ok(hex(bytes)), "{pdu:?}");
        assert_eq!(Pdu::decode(&hex(bytes)), Ok(pdu), "{bytes}");
    };
    check(
        Pdu {
            command_status: CommandStatus::OK,
            sequence_number: 2,
            body: Body::SubmitSmResp {
                message_id: "A1".into(),
            },
        },
        "00000013 80000004 00000000 00000002 413100",
    );
    // An error response goes without its body.
    check(
        Pdu {
            command_status: CommandStatus::THROTTLED,
            sequence_number: 3,
            body: Body::SubmitSmResp {
                message_id: String::new(),
            },
        },
        "00000010 80000004 00000058 00000003",
    );
    check(
        Pdu {
            command_status: CommandStatus::INVALID_PASSWORD,
            sequence_number: 1,
            body: Body::BindTransmitterResp {
                system_id: String::new(),
            },
        },
        "00000010 80000002 0000000E 00000001",
    );
    check(
        Pdu::request(7, Body::EnquireLink),
        "00000010 00000015 00000000 00000007",
    );
    check(
        Pdu::request(7, Body::EnquireLinkResp),
        "00000010 80000015 00000000 00000007",
    );
    check(
        Pdu::request(8, Body::Unbind),
        "00000010 00000006 00000000 00000008",
    );
    check(
        Pdu::request(8, Body::UnbindResp),
        "00000010 80000006 00000000 00000008",
    );
    check(
        Pdu {
            command_status: CommandStatus::INVALID_COMMAND_ID,
            sequence_number: 9,
            body: Body::GenericNack,
        },
        "00000010 80000000 00000003 00000009",
    );
}

#[test]
fn a_response_may_carry_optional_parameters() {
    // bind_transmitter_resp with sc_interface_version (TLV 0x0210, length 1, 0x34).
    let bytes = hex("0000001A 80000002 00000000 00000001 534D534300 0210 0001 34");
    assert_eq!(
        Pdu::decode(&bytes).map(|p| p.body),
        Ok(Body::BindTransmitterResp {
            system_id: "SMSC".into()
        })
    );
}

#[test]
fn malformed_bodies_are_named() {
    let check = |bytes: &str, problem: BodyError| {
        let Err(DecodeError::Body { problem: got, .. }) = Pdu::decode(&hex(bytes)) else {
            panic!("{bytes} decoded");
        };
        assert_eq!(got, problem, "{bytes}");
    };
    // system_id of 16 characters: no NUL within its 16 bytes.
    check(
        "00000025 00000002 00000000 00000001 41414141414141414141414141414141 00 00 34 00 00",
        BodyError::Unterminated {
            field: "system_id",
            max: 16,
        },
    );
    check(
        "00000013 80000004 00000000 00000002 41C100",
        BodyError::NotAscii {
            field: "message_id",
            byte: 0xC1,
        },
    );
    check(
        "00000012 00000002 00000000 00000001 4100",
        BodyError::Truncated("password"),
    );
    check(
        "00000011 00000015 00000000 00000001 00",
        BodyError::Trailing(1),
    );
    let mut long = hex(SUBMIT_SM_HELLO);
    let sm_length = long.len() - 5;
    long[sm_length] = 0xFF;
    let Err(DecodeError::Body { problem, .. }) = Pdu::decode(&long) else {
        panic!("sm_length 255 decoded");
    };
    assert_eq!(problem, BodyError::ShortMessageLength(0xFF));
}

#[test]
fn unknown_commands_get_a_generic_nack() {
    // query_sm is not one of ours.
    let e = Pdu::decode(&hex("00000010 00000003 00000000 0000002A"));
    assert_eq!(
        e,
        Err(DecodeError::UnknownCommand {
            command_id: 3,
            sequence_number: 42
        })
    );
    let reply = e.err().and_then(|e| e.reply()).map(|p| p.to_bytes());
    assert_eq!(reply, Some(Ok(hex("00000010 80000000 00000003 0000002A"))));
}

#[test]
fn fields_that_do_not_fit_are_refused_on_encoding() {
    let pdu = Pdu::request(
        1,
        Body::BindTransmitter(Bind::transmitter("idkiosk", "toolongpw", "")),
    );
    assert_eq!(
        pdu.to_bytes(),
        Err(EncodeError::TooLong {
            field: "password",
            len: 9,
            max: 9
        })
    );
    let mut sm = SubmitSm {
        short_message: vec![0; 255],
        ..SubmitSm::default()
    };
    assert_eq!(
        Pdu::request(1, Body::SubmitSm(Box::new(sm.clone()))).to_bytes(),
        Err(EncodeError::ShortMessage(255))
    );
    sm.short_message.clear();
    sm.destination_addr = "1380013800０".into();
    assert_eq!(
        Pdu::request(1, Body::SubmitSm(Box::new(sm))).to_bytes(),
        Err(EncodeError::NotAscii {
            field: "destination_addr"
        })
    );
}

#[test]
fn the_decoder_takes_bytes_as_they_come() {
    let one = hex(SUBMIT_SM_HELLO);
    let two = hex("00000010 00000015 00000000 00000007");
    let stream = [one.clone(), two.clone(), one.clone()].concat();
    // Byte by byte, then everything in one read.
    let mut decoder = PduDecoder::new();
    let mut got = Vec::new();
    for b in &stream {
        decoder.push(&[*b]);
        while let Some(pdu) = decoder.next_pdu() {
            got.push(pdu);
        }
    }
    let mut decoder = PduDecoder::new();
    decoder.push(&stream);
    let mut at_once = Vec::new();
    while let Some(pdu) = decoder.next_pdu() {
        at_once.push(pdu);
    }
    let expected = vec![
        Ok(hello()),
        Ok(Pdu::request(7, Body::EnquireLink)),
        Ok(hello()),
    ];
    assert_eq!(got, expected);
    assert_eq!(at_once, expected);
}

#[test]
fn a_bad_length_loses_the_stream() {
    for length in ["0000000F", "00001001", "FFFFFFFF"] {
        let mut decoder = PduDecoder::new();
        decoder.push(&hex(&format!("{length} 00000015 00000000 00000001")));
        decoder.push(&hex("00000010 00000015 00000000 00000002"));
        let length = u32::from_str_radix(length, 16).unwrap_or(0);
        assert_eq!(decoder.next_pdu(), Some(Err(DecodeError::Length(length))));
        assert_eq!(decoder.next_pdu(), None);
        assert!(decoder.is_broken());
    }
}

#[test]
fn a_bad_pdu_is_skipped_whole() {
    let mut decoder = PduDecoder::new();
    decoder.push(&hex("00000014 00000003 00000000 00000001 01020304"));
    decoder.push(&hex("00000010 00000015 00000000 00000002"));
    assert!(matches!(
        decoder.next_pdu(),
        Some(Err(DecodeError::UnknownCommand { .. }))
    ));
    assert_eq!(
        decoder.next_pdu(),
        Some(Ok(Pdu::request(2, Body::EnquireLink)))
    );
}

#[test]
fn command_status_names_and_kinds() {
    assert_eq!(
        CommandStatus::THROTTLED.to_string(),
        "ESME_RTHROTTLED (0x00000058)"
    );
    assert_eq!(CommandStatus(0x400).to_string(), "0x00000400");
    assert_eq!("0x58".parse(), Ok(CommandStatus::THROTTLED));
    assert_eq!("88".parse(), Ok(CommandStatus::THROTTLED));
    assert_eq!(
        "esme_rinvpaswd".parse(),
        Ok(CommandStatus::INVALID_PASSWORD)
    );
    assert!("ESME_RNOPE".parse::<CommandStatus>().is_err());
    for transient in [0x08, 0x14, 0x45, 0x58, 0x64, 0xFF, 0x400] {
        assert!(CommandStatus(transient).is_transient(), "{transient:#x}");
    }
    for permanent in [0x00, 0x01, 0x0B, 0x0E, 0x0F, 0x65] {
        assert!(!CommandStatus(permanent).is_transient(), "{permanent:#x}");
    }
}

const NOTICE: &str =
    "【居民身份证】*晓燕，您的居民身份证申请（受理编号3201042026120700001）已受理，\
                      预计2027-02-05前制证完成，届时将短信通知您领取。";

#[test]
fn seventy_characters_go_in_one_part() {
    let text: String = "证".repeat(70);
    let parts = encode_text(&text, 9);
    assert_eq!(
        parts,
        Ok(vec![Part {
            esm_class: 0,
            data_coding: 0x08,
            short_message: [0x8Bu8, 0xC1].repeat(70),
        }])
    );
}

#[test]
fn seventy_one_characters_go_in_two_parts_of_67_and_4() {
    let text: String = "证".repeat(71);
    let Ok(parts) = encode_text(&text, 0xA7) else {
        panic!("not encoded");
    };
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].esm_class, 0x40);
    assert_eq!(parts[0].short_message[..6], [5, 0, 3, 0xA7, 2, 1]);
    assert_eq!(parts[0].short_message.len(), 6 + 134);
    assert_eq!(parts[1].short_message[..6], [5, 0, 3, 0xA7, 2, 2]);
    assert_eq!(parts[1].short_message.len(), 6 + 8);
}

#[test]
fn a_surrogate_pair_is_not_split() {
    let text = format!("{}😀{}", "a".repeat(66), "b".repeat(10));
    let Ok(parts) = encode_text(&text, 1) else {
        panic!("not encoded");
    };
    // The first part ends before the pair, with 66 characters.
    assert_eq!(parts[0].short_message.len(), 6 + 132);
    assert_eq!(reassemble(&parts, &[1, 0]), Ok(text));
}

fn submit_of(part: &Part) -> SubmitSm {
    SubmitSm {
        destination_addr: "13800138000".into(),
        source_addr: "10690001".into(),
        esm_class: part.esm_class,
        data_coding: part.data_coding,
        short_message: part.short_message.clone(),
        ..SubmitSm::default()
    }
}

/// Feeds the parts in `order`; the text once the last one is in.
fn reassemble(parts: &[Part], order: &[usize]) -> Result<String, TextError> {
    let mut r = Reassembler::new();
    let mut out = None;
    for (n, &i) in order.iter().enumerate() {
        let done = r.push(&submit_of(&parts[i]), i)?;
        assert_eq!(done.is_some(), n + 1 == order.len(), "part {i}");
        out = done;
    }
    let done = out.ok_or(TextError::Header)?;
    assert_eq!(done.to, "13800138000");
    assert_eq!(done.tags, (0..parts.len()).collect::<Vec<_>>());
    Ok(done.text)
}

#[test]
fn the_notice_goes_in_two_parts_and_comes_back_whole() {
    assert!(NOTICE.chars().count() > 70);
    let Ok(parts) = encode_text(NOTICE, 3) else {
        panic!("not encoded");
    };
    assert_eq!(parts.len(), 2);
    assert_eq!(reassemble(&parts, &[0, 1]), Ok(NOTICE.to_owned()));
    assert_eq!(reassemble(&parts, &[1, 0]), Ok(NOTICE.to_owned()));
}

#[test]
fn bad_user_data_is_named() {
    assert_eq!(encode_text("", 0), Err(TextError::Empty));
    assert_eq!(
        split_header_of(0x40, &[5, 0, 3, 1, 2, 3, 0, 0x41]),
        Err(TextError::PartNumber {
            number: 3,
            total: 2
        })
    );
    assert_eq!(split_header_of(0x40, &[9, 0, 3]), Err(TextError::Header));
    assert_eq!(decode_text(0x08, &[0x4F]), Err(TextError::Ucs2));
    assert_eq!(decode_text(0x08, &[0xD8, 0x3D]), Err(TextError::Ucs2));
    assert_eq!(decode_text(0x04, &[]), Err(TextError::DataCoding(4)));
    assert_eq!(decode_text(0x00, b"OK"), Ok("OK".into()));
}

fn split_header_of(esm: u8, bytes: &[u8]) -> Result<Option<text::Concatenation>, TextError> {
    text::split_header(esm, bytes).map(|(c, _)| c)
}

// A session pair: our ESME against the SMSC machine, bytes passed by hand, on a virtual clock.

struct Pair {
    esme: EsmeSession,
    smsc: SmscSession,
    now: Millis,
}

impl Pair {
    fn new() -> Pair {
        Pair {
            esme: EsmeSession::new(EsmeConfig {
                response_timeout: Duration::from_secs(5),
                enquire_link_interval: Duration::from_secs(30),
            }),
            smsc: SmscSession::new(),
            now: Millis(1000),
        }
    }

    /// ESME → SMSC; returns the bytes that went.
    fn send_to_smsc(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.esme.poll_transmit(&mut out);
        self.smsc.handle_bytes(&out);
        out
    }

    /// SMSC → ESME; returns the bytes that went.
    fn send_to_esme(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.smsc.poll_transmit(&mut out);
        self.esme.handle_bytes(self.now, &out);
        out
    }

    fn bound(mut self) -> Pair {
        assert_eq!(
            self.esme
                .bind(self.now, Bind::transmitter("idkiosk", "secret", "")),
            Ok(())
        );
        self.send_to_smsc();
        let Some(SmscEvent::Bind {
            sequence_number, ..
        }) = self.smsc.poll_event()
        else {
            panic!("no bind");
        };
        assert_eq!(self.smsc.accept_bind(sequence_number, "SMSC"), Ok(()));
        self.send_to_esme();
        assert_eq!(
            self.esme.poll_event(),
            Some(EsmeEvent::Bound {
                system_id: "SMSC".into()
            })
        );
        self
    }
}

#[test]
fn bind_submit_unbind() {
    let mut p = Pair::new().bound();
    let Ok(seq) = p.esme.submit(p.now, *submit_box()) else {
        panic!("not submitted");
    };
    let wire = p.send_to_smsc();
    assert_eq!(wire[4..8], [0, 0, 0, 4]);
    let Some(SmscEvent::Submit {
        sequence_number,
        submit,
    }) = p.smsc.poll_event()
    else {
        panic!("no submit");
    };
    assert_eq!(sequence_number, seq);
    assert_eq!(submit, submit_box());
    assert_eq!(p.smsc.respond_submit(sequence_number, Ok("M1")), Ok(()));
    p.send_to_esme();
    assert_eq!(
        p.esme.poll_event(),
        Some(EsmeEvent::Submitted {
            sequence_number: seq,
            result: Ok("M1".into())
        })
    );
    p.esme.unbind(p.now);
    p.send_to_smsc();
    assert_eq!(p.smsc.poll_event(), Some(SmscEvent::Unbound));
    p.send_to_esme();
    assert_eq!(
        p.esme.poll_event(),
        Some(EsmeEvent::Closed(CloseReason::Unbound))
    );
    assert!(p.esme.is_closed());
}

fn submit_box() -> Box<SubmitSm> {
    Box::new(submit_of(&Part {
        esm_class: 0,
        data_coding: 8,
        short_message: vec![0x4F, 0x60],
    }))
}

#[test]
fn a_refused_bind_closes_with_its_status() {
    let mut p = Pair::new();
    assert_eq!(
        p.esme
            .bind(p.now, Bind::transmitter("idkiosk", "wrong", "")),
        Ok(())
    );
    p.send_to_smsc();
    let Some(SmscEvent::Bind {
        sequence_number,
        bind,
    }) = p.smsc.poll_event()
    else {
        panic!("no bind");
    };
    assert_eq!(bind.password, "wrong");
    p.smsc
        .refuse_bind(sequence_number, CommandStatus::INVALID_PASSWORD);
    let wire = p.send_to_esme();
    assert_eq!(wire, hex("00000010 80000002 0000000E 00000001"));
    assert_eq!(
        p.esme.poll_event(),
        Some(EsmeEvent::Closed(CloseReason::BindRefused(
            CommandStatus::INVALID_PASSWORD
        )))
    );
    assert_eq!(
        p.esme.submit(p.now, *submit_box()),
        Err(SubmitError::NotBound)
    );
}

#[test]
fn a_refused_submit_names_the_status() {
    let mut p = Pair::new().bound();
    let seq = p.esme.submit(p.now, *submit_box());
    p.send_to_smsc();
    let Some(SmscEvent::Submit {
        sequence_number, ..
    }) = p.smsc.poll_event()
    else {
        panic!("no submit");
    };
    assert_eq!(
        p.smsc
            .respond_submit(sequence_number, Err(CommandStatus::THROTTLED)),
        Ok(())
    );
    p.send_to_esme();
    assert_eq!(
        Ok(p.esme.poll_event()),
        seq.map(|sequence_number| Some(EsmeEvent::Submitted {
            sequence_number,
            result: Err(SubmitFailure::Refused(CommandStatus::THROTTLED))
        }))
    );
}

#[test]
fn an_unanswered_submit_times_out_and_an_idle_link_is_enquired() {
    let mut p = Pair::new().bound();
    let start = p.now;
    assert_eq!(p.esme.poll_timeout(), Some(start + Duration::from_secs(30)));
    let seq = p.esme.submit(p.now, *submit_box());
    p.send_to_smsc();
    // The SMSC never answers it.
    assert!(matches!(
        p.smsc.poll_event(),
        Some(SmscEvent::Submit { .. })
    ));
    assert_eq!(p.esme.poll_timeout(), Some(start + Duration::from_secs(5)));
    p.now = start + Duration::from_secs(5);
    p.esme.handle_timeout(p.now);
    assert_eq!(
        Ok(p.esme.poll_event()),
        seq.map(|sequence_number| Some(EsmeEvent::Submitted {
            sequence_number,
            result: Err(SubmitFailure::TimedOut)
        }))
    );
    // Quiet for 30 s after the submit: an enquire_link goes, the SMSC machine answers it.
    let next = p.esme.poll_timeout();
    assert_eq!(next, Some(start + Duration::from_secs(30)));
    p.now = start + Duration::from_secs(30);
    p.esme.handle_timeout(p.now);
    let wire = p.send_to_smsc();
    assert_eq!(wire[4..8], [0, 0, 0, 0x15]);
    assert_eq!(p.smsc.poll_event(), Some(SmscEvent::EnquireLink));
    let answer = p.send_to_esme();
    assert_eq!(answer[4..8], [0x80, 0, 0, 0x15]);
    assert_eq!(p.esme.poll_event(), None);
    // Unanswered this time: the link is lost.
    p.now += Duration::from_secs(30);
    p.esme.handle_timeout(p.now);
    p.send_to_smsc();
    let _ = p.smsc.poll_event();
    p.now += Duration::from_secs(5);
    p.esme.handle_timeout(p.now);
    assert_eq!(
        p.esme.poll_event(),
        Some(EsmeEvent::Closed(CloseReason::LinkLost))
    );
}

#[test]
fn the_smsc_refuses_a_submit_before_the_bind_and_nacks_unknown_commands() {
    let mut smsc = SmscSession::new();
    smsc.handle_bytes(&hello().to_bytes().unwrap_or_default());
    smsc.handle_bytes(&hex("00000010 00000003 00000000 00000005"));
    let mut out = Vec::new();
    smsc.poll_transmit(&mut out);
    assert_eq!(
        out,
        hex("00000010 80000004 00000004 00000002 00000010 80000000 00000003 00000005")
    );
}

// Property tests.

fn c_string(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0x20u8..=0x7E, 0..max)
        .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
}

fn arb_submit() -> impl Strategy<Value = SubmitSm> {
    (
        (
            c_string(6),
            any::<[u8; 2]>(),
            c_string(21),
            any::<[u8; 2]>(),
            c_string(21),
        ),
        (
            any::<[u8; 3]>(),
            c_string(17),
            c_string(17),
            any::<[u8; 4]>(),
        ),
        proptest::collection::vec(any::<u8>(), 0..=254),
    )
        .prop_map(|((st, s, sa, d, da), (e, sched, val, f), sm)| SubmitSm {
            service_type: st,
            source_addr_ton: s[0],
            source_addr_npi: s[1],
            source_addr: sa,
            dest_addr_ton: d[0],
            dest_addr_npi: d[1],
            destination_addr: da,
            esm_class: e[0],
            protocol_id: e[1],
            priority_flag: e[2],
            schedule_delivery_time: sched,
            validity_period: val,
            registered_delivery: f[0],
            replace_if_present_flag: f[1],
            data_coding: f[2],
            sm_default_msg_id: f[3],
            short_message: sm,
        })
}

fn arb_pdu() -> impl Strategy<Value = Pdu> {
    let body = prop_oneof![
        (
            c_string(16),
            c_string(9),
            c_string(13),
            any::<[u8; 3]>(),
            c_string(41)
        )
            .prop_map(|(system_id, password, system_type, b, address_range)| {
                Body::BindTransmitter(Bind {
                    system_id,
                    password,
                    system_type,
                    interface_version: b[0],
                    addr_ton: b[1],
                    addr_npi: b[2],
                    address_range,
                })
            }),
        c_string(16).prop_map(|system_id| Body::BindTransmitterResp { system_id }),
        arb_submit().prop_map(|s| Body::SubmitSm(Box::new(s))),
        c_string(65).prop_map(|message_id| Body::SubmitSmResp { message_id }),
        Just(Body::EnquireLink),
        Just(Body::EnquireLinkResp),
        Just(Body::Unbind),
        Just(Body::UnbindResp),
        Just(Body::GenericNack),
    ];
    (body, any::<u32>(), prop_oneof![Just(0u32), any::<u32>()]).prop_map(
        |(mut body, sequence_number, status)| {
            // An error response has no body on the wire.
            if status != 0 {
                match &mut body {
                    Body::BindTransmitterResp { system_id } => system_id.clear(),
                    Body::SubmitSmResp { message_id } => message_id.clear(),
                    _ => {}
                }
            }
            Pdu {
                command_status: CommandStatus(status),
                sequence_number,
                body,
            }
        },
    )
}

proptest! {
    #[test]
    fn pdus_round_trip(pdus in proptest::collection::vec(arb_pdu(), 1..6), cut in 1usize..64) {
        let mut stream = Vec::new();
        for pdu in &pdus {
            prop_assert_eq!(pdu.encode(&mut stream), Ok(()));
        }
        let mut decoder = PduDecoder::new();
        let mut got = Vec::new();
        for chunk in stream.chunks(cut) {
            decoder.push(chunk);
            while let Some(pdu) = decoder.next_pdu() {
                got.push(pdu);
            }
        }
        prop_assert_eq!(got, pdus.into_iter().map(Ok).collect::<Vec<_>>());
    }

    #[test]
    fn the_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut decoder = PduDecoder::new();
        decoder.push(&bytes);
        let mut n = 0;
        while decoder.next_pdu().is_some() {
            n += 1;
            prop_assert!(n <= bytes.len());
        }
        let mut smsc = SmscSession::new();
        smsc.handle_bytes(&bytes);
        let mut esme = EsmeSession::new(EsmeConfig::default());
        esme.handle_bytes(Millis::ZERO, &bytes);
    }

    #[test]
    fn texts_round_trip(text in "\\PC{1,300}", reference in any::<u8>()) {
        let parts = encode_text(&text, reference);
        prop_assert!(parts.is_ok());
        let parts = parts.unwrap_or_default();
        prop_assert!(parts.iter().all(|p| p.short_message.len() <= 140));
        let order: Vec<usize> = (0..parts.len()).rev().collect();
        prop_assert_eq!(reassemble(&parts, &order), Ok(text));
    }
}
