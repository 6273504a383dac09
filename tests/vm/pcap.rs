//! A small reader for classic pcap files (what QEMU's filter-dump and tcpdump -w write), and the
//! leak checks run on the frames.

use std::fmt;
use std::fs;
use std::path::Path;

pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_IEEE802_11_RADIOTAP: u32 = 127;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub fn parse(s: &str) -> Option<Mac> {
        let mut out = [0u8; 6];
        let mut parts = s.trim().split(':');
        for b in &mut out {
            *b = u8::from_str_radix(parts.next()?, 16).ok()?;
        }
        parts.next().is_none().then_some(Mac(out))
    }

    /// The modified EUI-64 interface identifier that SLAAC (addr-gen-mode eui64) derives from
    /// the address: a leak of the address inside IPv6 packets.
    pub fn eui64(&self) -> [u8; 8] {
        let m = self.0;
        [m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]
    }

    pub fn oui(&self) -> [u8; 3] {
        [self.0[0], self.0[1], self.0[2]]
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

#[derive(Debug, Clone)]
pub struct Frame {
    /// Seconds since the epoch (the host's clock for filter-dump, the guest's for tcpdump).
    pub time: f64,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Pcap {
    pub linktype: u32,
    pub frames: Vec<Frame>,
}

pub fn read(path: &Path) -> Result<Pcap, String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn parse(b: &[u8]) -> Result<Pcap, String> {
    if b.len() < 24 {
        return Err(format!("{} bytes: too short for a pcap header", b.len()));
    }
    let magic = u32::from_le_bytes(b[0..4].try_into().unwrap());
    let (le, nanos) = match magic {
        0xa1b2_c3d4 => (true, false),
        0xa1b2_3c4d => (true, true),
        0xd4c3_b2a1 => (false, false),
        0x4d3c_b2a1 => (false, true),
        m => return Err(format!("not a classic pcap file (magic {m:#010x})")),
    };
    let u32_at = |off: usize| -> u32 {
        let a: [u8; 4] = b[off..off + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let linktype = u32_at(20) & 0x0fff_ffff;
    let mut frames = Vec::new();
    let mut off = 24;
    while off < b.len() {
        if b.len() - off < 16 {
            return Err(format!("truncated record header at byte {off}"));
        }
        let (sec, frac, incl) = (u32_at(off), u32_at(off + 4), u32_at(off + 8) as usize);
        off += 16;
        if b.len() - off < incl {
            return Err(format!("truncated frame at byte {off}"));
        }
        let div = if nanos { 1e9 } else { 1e6 };
        frames.push(Frame {
            time: f64::from(sec) + f64::from(frac) / div,
            data: b[off..off + incl].to_vec(),
        });
        off += incl;
    }
    Ok(Pcap { linktype, frames })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Ethernet source address of a frame, for LINKTYPE_ETHERNET captures.
pub fn eth_src(frame: &[u8]) -> Option<Mac> {
    frame.get(6..12).map(|s| Mac(s.try_into().unwrap()))
}

pub fn eth_dst(frame: &[u8]) -> Option<Mac> {
    frame.get(0..6).map(|s| Mac(s.try_into().unwrap()))
}

/// Where in a frame a secret address turned up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hit {
    Source,
    Destination,
    /// Anywhere else in the bytes (ARP sender, DHCP chaddr, 802.11 address fields, ...).
    Payload,
    /// As the EUI-64 interface identifier of an IPv6 address.
    Eui64,
    /// In one of the 802.11 header's address fields.
    Address80211,
}

/// Every way `mac` appears in the frame. Ethernet: source, destination, then anywhere in the
/// rest of the bytes. 802.11 (radiotap): the header's address fields, decoded by frame type; not
/// a byte search, because mac80211_hwsim's permanent addresses (02:00:00:00:00:00) are runs of
/// zeros that EAPOL key frames contain by chance. (Data frame bodies are encrypted in the Wi-Fi
/// scenario, so a byte search there would find nothing real anyway.)
pub fn find(linktype: u32, frame: &[u8], mac: &Mac) -> Vec<Hit> {
    let mut hits = Vec::new();
    if linktype == LINKTYPE_ETHERNET {
        if eth_src(frame) == Some(*mac) {
            hits.push(Hit::Source);
        }
        if eth_dst(frame) == Some(*mac) {
            hits.push(Hit::Destination);
        }
        if frame.len() > 12 && contains(&frame[12..], &mac.0) {
            hits.push(Hit::Payload);
        }
    } else if linktype == LINKTYPE_IEEE802_11_RADIOTAP {
        if wifi_addresses(frame).contains(mac) {
            hits.push(Hit::Address80211);
        }
    } else if contains(frame, &mac.0) {
        hits.push(Hit::Payload);
    }
    if contains(frame, &mac.eui64()) {
        hits.push(Hit::Eui64);
    }
    hits
}

/// The addresses in an 802.11 header behind a radiotap header: addr1 always; addr2 for
/// management, data and the control frames that carry a transmitter; addr3 for management and
/// data; addr4 for data frames with both DS bits.
pub fn wifi_addresses(frame: &[u8]) -> Vec<Mac> {
    let Some(rt) = frame
        .get(2..4)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    else {
        return vec![];
    };
    let Some(h) = frame.get(rt..) else {
        return vec![];
    };
    let at = |off: usize| h.get(off..off + 6).map(|s| Mac(s.try_into().unwrap()));
    let (Some(&fc0), Some(&fc1)) = (h.first(), h.get(1)) else {
        return vec![];
    };
    let (kind, subtype) = ((fc0 >> 2) & 3, fc0 >> 4);
    let mut offsets = vec![4];
    match kind {
        0 => offsets.extend([10, 16]),
        1 if matches!(subtype, 8 | 9 | 10 | 11 | 14 | 15) => offsets.push(10),
        2 => {
            offsets.extend([10, 16]);
            if fc1 & 3 == 3 {
                offsets.push(24);
            }
        }
        _ => {}
    }
    offsets.into_iter().filter_map(at).collect()
}

/// The SSID element of an 802.11 probe request behind a radiotap header: `Some(ssid)` (empty for
/// the wildcard), `None` for any other frame or a probe request without one.
pub fn probe_request_ssid(frame: &[u8]) -> Option<&[u8]> {
    let rt = frame
        .get(2..4)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)?;
    let h = frame.get(rt..)?;
    // Management frame (type 0), subtype 4; the body follows the 24-byte header.
    if *h.first()? != 0x40 {
        return None;
    }
    let mut ies = h.get(24..)?;
    while let [id, len, rest @ ..] = ies {
        let value = rest.get(..*len as usize)?;
        if *id == 0 {
            return Some(value);
        }
        ies = &rest[*len as usize..];
    }
    None
}

/// Probe requests in `pcap` that come from a scan address of their own: none of their addresses
/// is `station` or one of `secrets`. Scan MAC randomization is on when there is at least one.
/// Returns (random, all probe requests).
pub fn random_scan_probes(pcap: &Pcap, station: Option<Mac>, secrets: &[Mac]) -> (usize, usize) {
    let probes: Vec<_> = pcap
        .frames
        .iter()
        .filter(|f| is_probe_request(&f.data))
        .collect();
    let random = probes
        .iter()
        .filter(|f| {
            !wifi_addresses(&f.data)
                .iter()
                .any(|m| Some(*m) == station || secrets.contains(m))
        })
        .count();
    (random, probes.len())
}

/// Radiotap header, then an 802.11 management frame of subtype probe request.
pub fn is_probe_request(f: &[u8]) -> bool {
    let Some(len) = f
        .get(2..4)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    else {
        return false;
    };
    f.get(len) == Some(&0x40)
}

/// Describes every frame of the capture that carries one of `secrets` in any form (at most
/// `limit` lines, then a count).
pub fn leaks(name: &str, pcap: &Pcap, secrets: &[Mac], limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut total = 0;
    for (i, f) in pcap.frames.iter().enumerate() {
        for mac in secrets {
            let hits = find(pcap.linktype, &f.data, mac);
            if !hits.is_empty() {
                total += 1;
                if out.len() < limit {
                    out.push(format!(
                        "{name}: frame #{} ({} bytes) carries permanent address {mac} as {hits:?}",
                        i + 1,
                        f.data.len()
                    ));
                }
            }
        }
    }
    if total > out.len() {
        out.push(format!(
            "{name}: ... {} more frames with permanent addresses",
            total - out.len()
        ));
    }
    out
}

/// Frames whose Ethernet source is `mac`.
pub fn count_from(pcap: &Pcap, mac: &Mac) -> usize {
    pcap.frames
        .iter()
        .filter(|f| eth_src(&f.data) == Some(*mac))
        .count()
}

/// Frames that carry `mac` anywhere (any link type).
pub fn count_containing(pcap: &Pcap, mac: &Mac) -> usize {
    pcap.frames
        .iter()
        .filter(|f| contains(&f.data, &mac.0))
        .count()
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Writes a classic little-endian microsecond pcap, the format filter-dump writes.
    pub fn build(linktype: u32, frames: &[Vec<u8>]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&65535u32.to_le_bytes());
        b.extend_from_slice(&linktype.to_le_bytes());
        for (i, f) in frames.iter().enumerate() {
            b.extend_from_slice(&(1000 + i as u32).to_le_bytes());
            b.extend_from_slice(&500_000u32.to_le_bytes());
            b.extend_from_slice(&(f.len() as u32).to_le_bytes());
            b.extend_from_slice(&(f.len() as u32).to_le_bytes());
            b.extend_from_slice(f);
        }
        b
    }

    pub fn eth(dst: Mac, src: Mac, payload: &[u8]) -> Vec<u8> {
        let mut f = dst.0.to_vec();
        f.extend_from_slice(&src.0);
        f.extend_from_slice(&[0x08, 0x06]);
        f.extend_from_slice(payload);
        f
    }

    const PERM: Mac = Mac([0x00, 0x1b, 0x21, 0xe2, 0xe0, 0x01]);
    const SPOOF: Mac = Mac([0x00, 0x1b, 0x21, 0x12, 0x34, 0x56]);
    const BCAST: Mac = Mac([0xff; 6]);

    #[test]
    fn parses_what_it_writes_and_both_byte_orders() {
        let frames = vec![eth(BCAST, SPOOF, &[1, 2, 3]), eth(SPOOF, PERM, &[])];
        let p = parse(&build(LINKTYPE_ETHERNET, &frames)).unwrap();
        assert_eq!(p.linktype, LINKTYPE_ETHERNET);
        assert_eq!(p.frames.len(), 2);
        assert_eq!(p.frames[0].data, frames[0]);
        assert!((p.frames[1].time - 1001.5).abs() < 1e-9);
        // Big-endian header and records.
        let mut be = Vec::new();
        be.extend_from_slice(&0xa1b2_c3d4u32.to_be_bytes());
        be.extend_from_slice(&[
            0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1,
        ]);
        be.extend_from_slice(&[0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 14, 0, 0, 0, 14]);
        be.extend_from_slice(&eth(BCAST, PERM, &[]));
        let p = parse(&be).unwrap();
        assert_eq!(p.frames.len(), 1);
        assert_eq!(eth_src(&p.frames[0].data), Some(PERM));
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(parse(b"short").is_err());
        assert!(parse(&[0u8; 24]).is_err());
        let mut b = build(LINKTYPE_ETHERNET, &[eth(BCAST, SPOOF, &[0; 10])]);
        b.truncate(b.len() - 1);
        assert!(parse(&b).is_err());
        // An empty capture (header only) is valid: no frames.
        assert!(parse(&build(1, &[])).unwrap().frames.is_empty());
    }

    #[test]
    fn finds_every_form_of_a_leak() {
        assert_eq!(
            find(1, &eth(BCAST, PERM, &[]), &PERM),
            vec![Hit::Source],
            "source"
        );
        assert_eq!(
            find(1, &eth(PERM, SPOOF, &[]), &PERM),
            vec![Hit::Destination]
        );
        // ARP sender hardware address, DHCP chaddr and the like.
        let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
        arp.extend_from_slice(&PERM.0);
        assert_eq!(find(1, &eth(BCAST, SPOOF, &arp), &PERM), vec![Hit::Payload]);
        // An IPv6 address whose interface identifier is the EUI-64 of the permanent address.
        let mut v6 = vec![0xfe, 0x80, 0, 0, 0, 0, 0, 0];
        v6.extend_from_slice(&PERM.eui64());
        assert_eq!(find(1, &eth(BCAST, SPOOF, &v6), &PERM), vec![Hit::Eui64]);
        assert_eq!(
            PERM.eui64(),
            [0x02, 0x1b, 0x21, 0xff, 0xfe, 0xe2, 0xe0, 0x01]
        );
        // 802.11 probe request (radiotap of 8 bytes): transmitter in addr2.
        let mut wifi = vec![0, 0, 8, 0, 0, 0, 0, 0, 0x40, 0, 0, 0];
        wifi.extend_from_slice(&BCAST.0);
        wifi.extend_from_slice(&PERM.0);
        wifi.extend_from_slice(&BCAST.0);
        wifi.extend_from_slice(&[0, 0]);
        assert_eq!(
            find(LINKTYPE_IEEE802_11_RADIOTAP, &wifi, &PERM),
            vec![Hit::Address80211]
        );
        assert_eq!(wifi_addresses(&wifi), vec![BCAST, PERM, BCAST]);
        // An ACK names only its receiver; a WDS data frame has four addresses.
        let mut ack = vec![0, 0, 8, 0, 0, 0, 0, 0, 0xd4, 0, 0, 0];
        ack.extend_from_slice(&PERM.0);
        ack.extend_from_slice(&SPOOF.0); // trailing bytes, not an address
        assert_eq!(wifi_addresses(&ack), vec![PERM]);
        let mut wds = vec![0, 0, 8, 0, 0, 0, 0, 0, 0x08, 0x03, 0, 0];
        for m in [BCAST, SPOOF, BCAST] {
            wds.extend_from_slice(&m.0);
        }
        wds.extend_from_slice(&[0, 0]);
        wds.extend_from_slice(&PERM.0);
        assert_eq!(wifi_addresses(&wds), vec![BCAST, SPOOF, BCAST, PERM]);
        // The same bytes in an 802.11 body are not an address (hwsim's 02:00:00:00:00:00 is
        // mostly zeros, which EAPOL frames are full of).
        let hwsim = Mac([2, 0, 0, 0, 0, 0]);
        let mut eapol = vec![0, 0, 8, 0, 0, 0, 0, 0, 0x08, 0x01, 0, 0];
        for m in [SPOOF, BCAST, SPOOF] {
            eapol.extend_from_slice(&m.0);
        }
        eapol.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert!(find(LINKTYPE_IEEE802_11_RADIOTAP, &eapol, &hwsim).is_empty());
        assert!(find(LINKTYPE_IEEE802_11_RADIOTAP, &[0, 0], &hwsim).is_empty());
        // And nothing when the permanent address is absent.
        assert!(find(1, &eth(BCAST, SPOOF, &arp[..8]), &PERM).is_empty());
    }

    /// A probe request (8-byte radiotap header) from `src` with these information elements.
    pub fn probe_request(src: Mac, ies: &[(u8, &[u8])]) -> Vec<u8> {
        let mut f = vec![0, 0, 8, 0, 0, 0, 0, 0, 0x40, 0, 0, 0];
        for m in [BCAST, src, BCAST] {
            f.extend_from_slice(&m.0);
        }
        f.extend_from_slice(&[0x10, 0]);
        for (id, v) in ies {
            f.push(*id);
            f.push(v.len() as u8);
            f.extend_from_slice(v);
        }
        f
    }

    #[test]
    fn reads_the_ssid_of_probe_requests_only() {
        let rates: &[u8] = &[0x82, 0x84, 0x8b, 0x96];
        let named = probe_request(SPOOF, &[(0, b"home-net"), (1, rates)]);
        assert_eq!(probe_request_ssid(&named), Some(&b"home-net"[..]));
        // The wildcard SSID is empty; the element need not come first.
        let wildcard = probe_request(SPOOF, &[(1, rates), (0, b"")]);
        assert_eq!(probe_request_ssid(&wildcard), Some(&b""[..]));
        assert_eq!(
            probe_request_ssid(&probe_request(SPOOF, &[(1, rates)])),
            None
        );
        // A beacon (subtype 8) carries an SSID too, but is not a probe request.
        let mut beacon = named.clone();
        beacon[8] = 0x80;
        assert_eq!(probe_request_ssid(&beacon), None);
        // Truncated elements and headers give nothing rather than a panic.
        assert_eq!(probe_request_ssid(&named[..named.len() - 9]), None);
        for n in 0..30 {
            assert_eq!(probe_request_ssid(&named[..n]), None, "{n} bytes");
        }
    }

    #[test]
    fn scan_randomization_is_seen_only_with_a_scan_address_of_its_own() {
        let rates: &[u8] = &[0x82, 0x84];
        let random_src = Mac([0xb2, 0x16, 0xd7, 0x69, 0xb6, 0x8a]);
        let from_station: Vec<_> = (0..3)
            .map(|_| probe_request(SPOOF, &[(1, rates)]))
            .collect();
        let p = parse(&build(127, &from_station)).unwrap();
        assert_eq!(random_scan_probes(&p, Some(SPOOF), &[PERM]), (0, 3));
        let from_perm = parse(&build(127, &[probe_request(PERM, &[(1, rates)])])).unwrap();
        assert_eq!(random_scan_probes(&from_perm, Some(SPOOF), &[PERM]), (0, 1));
        let mut mixed = from_station.clone();
        mixed.push(probe_request(random_src, &[(0, b""), (1, rates)]));
        let p = parse(&build(127, &mixed)).unwrap();
        assert_eq!(random_scan_probes(&p, Some(SPOOF), &[PERM]), (1, 4));
    }

    #[test]
    fn leak_report_names_frames_and_counts_the_rest() {
        let frames: Vec<_> = (0..5).map(|_| eth(BCAST, PERM, &[])).collect();
        let p = parse(&build(1, &frames)).unwrap();
        let l = leaks("nic0", &p, &[PERM], 2);
        assert_eq!(l.len(), 3, "{l:?}");
        assert!(l[0].contains("frame #1") && l[0].contains("00:1b:21:e2:e0:01"));
        assert!(l[2].contains("3 more"));
        let clean = parse(&build(1, &[eth(BCAST, SPOOF, &[])])).unwrap();
        assert!(leaks("nic0", &clean, &[PERM], 2).is_empty());
        assert_eq!(count_from(&clean, &SPOOF), 1);
        assert_eq!(count_from(&clean, &PERM), 0);
        assert_eq!(count_containing(&p, &PERM), 5);
    }

    #[test]
    fn mac_text() {
        assert_eq!(Mac::parse("00:1B:21:e2:e0:01"), Some(PERM));
        assert_eq!(PERM.to_string(), "00:1b:21:e2:e0:01");
        assert_eq!(Mac::parse("00:1b:21:e2:e0"), None);
        assert_eq!(Mac::parse("00:1b:21:e2:e0:01:02"), None);
        assert_eq!(Mac::parse("zz:1b:21:e2:e0:01"), None);
    }
}
