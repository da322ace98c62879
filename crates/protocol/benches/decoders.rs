//! Frames per second per core for each decoder, next to a baseline over the same bytes: a
//! plain XOR fold (the least any checksummed decoder must do), so results read as ratios.
//!
//! Run: `cargo bench -p protocol --bench decoders`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use protocol::barcode::{encode_line, LineConfig, LineDecoder, Terminator};
use protocol::card_reader::{Answer, AnswerDecoder, Command, CommandDecoder, ReadData, Sw3};
use protocol::fingerprint::{FingerImage, Packet, PacketDecoder, HEIGHT, WIDTH};
use protocol::pos::{encode_frame, FrameDecoder, Item};

const FRAMES: usize = 64;

fn baseline(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a ^ b)
}

fn bench(c: &mut Criterion, name: &str, bytes: &[u8], decode: impl Fn(&[u8]) -> usize) {
    assert_eq!(decode(bytes), FRAMES, "{name}: every frame decodes");
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(FRAMES as u64));
    g.bench_function("baseline_xor", |b| b.iter(|| baseline(black_box(bytes))));
    g.bench_function("decode", |b| b.iter(|| decode(black_box(bytes))));
    g.finish();
}

fn card_reader(c: &mut Criterion) {
    let read = Answer {
        status: Sw3::Success,
        data: ReadData {
            text: vec![0x20; 256],
            photo: vec![0x55; 1024],
            fingerprint: Some(vec![0x43; 1024]),
        }
        .encode(),
    }
    .to_frame();
    let bytes: Vec<u8> = read.repeat(FRAMES);
    bench(c, "card_reader_read_30_10_answer", &bytes, |b| {
        let mut d = AnswerDecoder::default();
        d.push(b);
        std::iter::from_fn(|| d.next_answer())
            .filter(Result::is_ok)
            .count()
    });
    let status: Vec<u8> = (0..FRAMES)
        .flat_map(|_| Answer::status(Sw3::NoCard).to_frame())
        .collect();
    bench(c, "card_reader_status_answer", &status, |b| {
        let mut d = AnswerDecoder::default();
        d.push(b);
        std::iter::from_fn(|| d.next_answer())
            .filter(Result::is_ok)
            .count()
    });
    let commands: Vec<u8> = (0..FRAMES)
        .flat_map(|_| Command::FindCard.to_frame())
        .collect();
    bench(c, "card_reader_command", &commands, |b| {
        let mut d = CommandDecoder::default();
        d.push(b);
        std::iter::from_fn(|| d.next_command())
            .filter(Result::is_ok)
            .count()
    });
}

fn fingerprint(c: &mut Criterion) {
    let image = FingerImage::from_pixels(vec![0x80; WIDTH * HEIGHT]).expect("size");
    let bytes: Vec<u8> = image
        .to_packets(0xFFFF_FFFF)
        .iter()
        .take(FRAMES)
        .flat_map(Packet::to_bytes)
        .collect();
    bench(c, "fingerprint_data_packet", &bytes, |b| {
        let mut d = PacketDecoder::default();
        d.push(b);
        std::iter::from_fn(|| d.next_packet())
            .filter(Result::is_ok)
            .count()
    });
}

fn barcode(c: &mut Criterion) {
    let bytes: Vec<u8> = (0..FRAMES)
        .flat_map(|i| encode_line(&format!("RCPT-2025-{i:08}"), Terminator::Cr).expect("ascii"))
        .collect();
    bench(c, "barcode_line", &bytes, |b| {
        let mut d = LineDecoder::new(LineConfig::default());
        d.push(b);
        std::iter::from_fn(|| d.next_line())
            .filter(Result::is_ok)
            .count()
    });
}

fn pos(c: &mut Criterion) {
    let mut bytes = Vec::new();
    for _ in 0..FRAMES {
        encode_frame(&[b' '; 1161], &mut bytes);
    }
    bench(c, "pos_response_frame", &bytes, |b| {
        let mut d = FrameDecoder::default();
        d.push(b);
        std::iter::from_fn(|| d.next_item())
            .filter(|i| matches!(i, Ok(Item::Frame(_))))
            .count()
    });
}

criterion_group!(benches, card_reader, fingerprint, barcode, pos);
criterion_main!(benches);
