//! The chunked decoder: never panics, and the decoded body and outcome do not depend on how the
//! input is split or how small the output buffer is.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlspost_proto::chunked::ChunkedDecoder;

fn run(data: &[u8], step: usize, out_len: usize) -> (bool, Vec<u8>, usize) {
    let mut d = ChunkedDecoder::new();
    let mut out = vec![0u8; out_len];
    let mut body = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut pos = 0;
    loop {
        let take = step.min(data.len() - pos);
        pending.extend_from_slice(&data[pos..pos + take]);
        pos += take;
        loop {
            match d.decode(&pending, &mut out) {
                Err(_) => return (false, body, 0),
                Ok((c, p)) => {
                    assert!(c <= pending.len() && p <= out.len());
                    body.extend_from_slice(&out[..p]);
                    pending.drain(..c);
                    if d.is_done() {
                        return (true, body, pending.len() + data.len() - pos);
                    }
                    if c == 0 && p == 0 {
                        break;
                    }
                }
            }
        }
        if take == 0 {
            return (d.on_eof().is_ok(), body, 0);
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&cfg, data)) = input.split_first() else {
        return;
    };
    let step = usize::from(cfg & 0x0f) + 1;
    let out_len = usize::from(cfg >> 4) + 1;
    let whole = run(data, data.len().max(1), 4096);
    let split = run(data, step, out_len);
    assert_eq!(whole.0, split.0, "outcome depends on the split");
    if whole.0 {
        assert_eq!(whole.1, split.1);
        assert_eq!(
            whole.2, split.2,
            "trailing bytes left unconsumed must not depend on the split"
        );
    }
});
