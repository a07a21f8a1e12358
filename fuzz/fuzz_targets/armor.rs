//! ASCII armor. The input is decoded as an armored text (mail body, surrounding text and
//! all) with a small limit; then, as a property, the input's bytes are armored, wrapped as a
//! mail client might (leading blank lines, CRLF line ends, trailing blanks, blank lines
//! after, a greeting and a signature around it, a `> ` quoted reply) and must decode back
//! to exactly those bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use secfile::bundle::armor;

fuzz_target!(|data: &[u8]| {
    // arbitrary text, limited output
    let mut out = Vec::new();
    if let Ok(n) = armor::decode(data, &mut out, 4096) {
        assert_eq!(n, out.len() as u64);
        assert!(n <= 4096);
    }
    // encode -> decode round trip
    let mut arm = Vec::new();
    armor::encode(data, &mut arm).expect("armor to memory");
    let mut back = Vec::new();
    assert_eq!(armor::decode(&arm[..], &mut back, u64::MAX).ok(), Some(data.len() as u64));
    assert_eq!(back, data, "armor round trip");
    // the same, mangled by a mail client (choice taken from the data)
    let flags = data.first().copied().unwrap_or(0);
    let text = String::from_utf8(arm).expect("armor is ASCII");
    let mut mail = String::new();
    if flags & 1 != 0 {
        mail.push_str("\n\n");
    }
    for line in text.lines() {
        mail.push_str(line);
        if flags & 2 != 0 {
            mail.push_str(" \t");
        }
        mail.push_str(if flags & 4 != 0 { "\r\n" } else { "\n" });
    }
    if flags & 8 != 0 {
        mail.push_str("\r\n  \n");
    }
    // text around it, and a quoted reply (mail bodies, issue 12)
    if flags & 16 != 0 {
        mail = format!("Hello,\n\nthe bundle:\n{mail}\n-- \nsender\n");
    }
    if flags & 32 != 0 {
        mail = mail.lines().map(|l| format!("> {l}\n")).collect();
    }
    let mut back = Vec::new();
    assert_eq!(
        armor::decode(mail.as_bytes(), &mut back, u64::MAX).ok(),
        Some(data.len() as u64)
    );
    assert_eq!(back, data, "armor round trip through a mail client");
    // a limit below the size is refused
    if !data.is_empty() {
        let limit = data.len() as u64 - 1;
        assert!(armor::decode(mail.as_bytes(), &mut Vec::new(), limit).is_err());
    }
});
