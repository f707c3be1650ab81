//! The digest stage on in-memory buffers: each algorithm alone, the three together, and the
//! reader loop used by the scan (so the read-chunk size can be judged).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use md5::Digest;
use spoor::evidence::digest::{ReadBuffer, TripleHasher, digest_reader};

fn buffer(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn algorithms(c: &mut Criterion) {
    let data = buffer(1 << 20);
    let mut g = c.benchmark_group("digest-1MiB");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("md5", |b| b.iter(|| md5::Md5::digest(&data)));
    g.bench_function("sha1", |b| b.iter(|| sha1::Sha1::digest(&data)));
    g.bench_function("sha256", |b| b.iter(|| sha2::Sha256::digest(&data)));
    g.bench_function("md5+sha1+sha256", |b| {
        b.iter(|| {
            let mut h = TripleHasher::default();
            h.update(&data);
            h.finish()
        })
    });
    g.finish();
}

fn reader(c: &mut Criterion) {
    let data = buffer(16 << 20);
    let mut g = c.benchmark_group("digest_reader-16MiB");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    g.bench_with_input(BenchmarkId::from_parameter("slice"), &data, |b, d| {
        let mut buf = ReadBuffer::new();
        b.iter(|| digest_reader(&d[..], &mut buf, &|| false).unwrap().digests)
    });
    g.finish();
}

criterion_group!(benches, algorithms, reader);
criterion_main!(benches);
