//! Writes a picture's pixels as spoor decodes them (RGB, row-major) to stdout, to compare
//! decoders: `decode_dump FILE > FILE.rgb`.
use std::io::Write;
fn main() {
    let path = std::env::args().nth(1).expect("FILE");
    let img = spoor::media::decode_file(std::path::Path::new(&path))
        .expect("decodes")
        .to_rgb8();
    std::io::stdout().write_all(img.as_raw()).expect("stdout");
}
