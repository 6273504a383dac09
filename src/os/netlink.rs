//! Synchronous rtnetlink. The only module that imports the netlink crates: they break often, so
//! everything they define stays in here.

use crate::core::link::{Link, LinkError, Links};
use crate::core::mac::Mac;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader,
    NetlinkMessage, NetlinkPayload, NlasIterator,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkExtentMask, LinkFlags, LinkHeader, LinkInfo,
    LinkMessage,
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// Large enough for one dump datagram (the kernel fills at most 32 KiB per read).
const RECV_BUF: usize = 64 * 1024;
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;

pub struct Netlink {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
    /// Fill `Link::permanent` through the ethtool ioctl when the kernel sends no
    /// IFLA_PERM_ADDRESS (kernels before 5.6).
    perm_fallback: bool,
}

impl Netlink {
    pub fn open() -> Result<Netlink, LinkError> {
        let err = |e: std::io::Error| {
            LinkError::errno("open a netlink socket", e.raw_os_error().unwrap_or(0), None)
        };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(err)?;
        socket.bind_auto().map_err(err)?;
        // Ask for the kernel's reason text with errors, and no echo of our request.
        socket.set_ext_ack(true).map_err(err)?;
        socket.set_cap_ack(true).map_err(err)?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(err)?;
        Ok(Netlink {
            socket,
            seq: 0,
            buf: Vec::with_capacity(RECV_BUF),
            perm_fallback: true,
        })
    }

    /// Whether lookups fill a missing permanent address through ethtool (on by default).
    /// `Ctx::resolve` turns it off for callers that read each link again anyway: the ioctl per
    /// interface was a measurable share of `spoof --all`.
    pub fn set_perm_fallback(&mut self, on: bool) {
        self.perm_fallback = on;
    }

    /// Sends one request and collects the links in the replies: the one link for a read of one,
    /// until NLMSG_DONE for a dump, until the ACK otherwise. Link replies are read straight from
    /// the buffer for the few attributes we use; parsing every attribute into owned values was
    /// most of the CPU time and memory of `spoof --all` over thousands of interfaces.
    fn request(
        &mut self,
        op: &str,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<Link>, LinkError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        // A read of one link ends with its reply (or an error): no ACK to wait for after it.
        let get_one = !dump && matches!(msg, RouteNetlinkMessage::GetLink(_));
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags | if dump || get_one { 0 } else { NLM_F_ACK };
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut out = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut out);
        let io = |e: std::io::Error| LinkError::errno(op, e.raw_os_error().unwrap_or(0), None);
        self.socket.send(&out, 0).map_err(io)?;

        let mut replies = Vec::new();
        loop {
            // Received into spare capacity: only the pages the kernel writes get touched.
            self.buf.clear();
            self.socket.recv(&mut self.buf, 0).map_err(io)?;
            let n = self.buf.len();
            let mut off = 0;
            while off < n {
                let data = &self.buf[off..n];
                let len = NetlinkBuffer::new_checked(data)
                    .map_err(|e| LinkError::other(op, format!("malformed reply: {e}")))?
                    .length() as usize;
                if len == 0 || len > data.len() {
                    return Err(LinkError::other(op, "malformed reply length"));
                }
                let raw = NetlinkBuffer::new_checked(&data[..len])
                    .map_err(|e| LinkError::other(op, format!("malformed reply: {e}")))?;
                if raw.message_type() == RTM_NEWLINK {
                    off += (len + 3) & !3;
                    if raw.sequence_number() == seq {
                        let link = link_from_payload(raw.payload())
                            .map_err(|e| LinkError::other(op, format!("malformed link: {e}")))?;
                        replies.push(link);
                        if get_one {
                            return Ok(replies);
                        }
                    }
                    continue;
                }
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[..len])
                    .map_err(|e| LinkError::other(op, format!("malformed reply: {e}")))?;
                off += (len + 3) & !3;
                if reply.header.sequence_number != seq {
                    continue; // a late answer to an earlier request
                }
                let reply_flags = reply.header.flags;
                match reply.payload {
                    NetlinkPayload::Error(e) => match e.code {
                        None => return Ok(replies),
                        Some(code) => {
                            let ack = ext_ack_message(reply_flags, &e.header);
                            return Err(LinkError::errno(op, -code.get(), ack));
                        }
                    },
                    NetlinkPayload::Done(_) => return Ok(replies),
                    _ => {}
                }
            }
        }
    }

    /// A fresh read of one interface by index.
    pub fn link_by_index(&mut self, index: u32) -> Result<Link, LinkError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        self.one_link(&format!("read interface #{index}"), msg)
    }

    pub fn link_by_name(&mut self, name: &str) -> Result<Link, LinkError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        self.one_link(&format!("read {name}"), msg)
    }

    fn one_link(&mut self, op: &str, msg: LinkMessage) -> Result<Link, LinkError> {
        let replies = self.request(op, RouteNetlinkMessage::GetLink(msg), 0)?;
        let link = replies
            .into_iter()
            .next()
            .ok_or_else(|| LinkError::other(op, "the kernel sent no link"))?;
        Ok(self.with_perm_fallback(link))
    }

    /// Every interface in this network namespace, in index order.
    pub fn dump_links(&mut self) -> Result<Vec<Link>, LinkError> {
        let mut msg = LinkMessage::default();
        msg.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        let mut links = self.request(
            "list interfaces",
            RouteNetlinkMessage::GetLink(msg),
            NLM_F_DUMP,
        )?;
        links.sort_by_key(|l| l.index);
        Ok(links
            .into_iter()
            .map(|l| self.with_perm_fallback(l))
            .collect())
    }

    fn with_perm_fallback(&self, mut link: Link) -> Link {
        if link.permanent.is_none() && self.perm_fallback && link.is_ether() {
            link.permanent = super::ethtool::permanent_address(&link.name);
        }
        link
    }

    fn set_link(&mut self, op: &str, msg: LinkMessage) -> Result<(), LinkError> {
        self.request(op, RouteNetlinkMessage::SetLink(msg), 0)
            .map(|_| ())
    }

    pub fn set_address(&mut self, index: u32, mac: Mac) -> Result<(), LinkError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes
            .push(LinkAttribute::Address(mac.octets().to_vec()));
        self.set_link(&format!("set the address of interface #{index}"), msg)
    }

    pub fn set_up(&mut self, index: u32, up: bool) -> Result<(), LinkError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.change_mask = LinkFlags::Up;
        if up {
            msg.header.flags = LinkFlags::Up;
        }
        let what = if up { "up" } else { "down" };
        self.set_link(&format!("set interface #{index} {what}"), msg)
    }

    /// Creates a veth pair (the demo's stand-in NIC and its wire), optionally with a fixed
    /// address on the first end.
    pub fn create_veth(
        &mut self,
        name: &str,
        peer: &str,
        mac: Option<Mac>,
    ) -> Result<(), LinkError> {
        let mut peer_msg = LinkMessage::default();
        peer_msg
            .attributes
            .push(LinkAttribute::IfName(peer.to_string()));
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        if let Some(mac) = mac {
            msg.attributes
                .push(LinkAttribute::Address(mac.octets().to_vec()));
        }
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
        ]));
        self.request(
            &format!("create veth {name}"),
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(|_| ())
    }
}

impl Netlink {
    /// One read by index with the permanent-address fallback set for this read only.
    fn read_index(&mut self, index: u32, perm_fallback: bool) -> Result<Link, LinkError> {
        let saved = std::mem::replace(&mut self.perm_fallback, perm_fallback);
        let link = self.link_by_index(index);
        self.perm_fallback = saved;
        link
    }
}

impl Links for Netlink {
    fn get(&mut self, index: u32) -> Result<Link, LinkError> {
        self.read_index(index, true)
    }
    fn address(&mut self, index: u32) -> Result<Option<Mac>, LinkError> {
        Ok(self.read_index(index, false)?.address)
    }
    fn set_address(&mut self, index: u32, mac: Mac) -> Result<(), LinkError> {
        Netlink::set_address(self, index, mac)
    }
    fn set_up(&mut self, index: u32, up: bool) -> Result<(), LinkError> {
        Netlink::set_up(self, index, up)
    }
}

const RTM_NEWLINK: u16 = 16;
/// struct ifinfomsg
const LINK_HEADER_LEN: usize = 16;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_PERM_ADDRESS: u16 = 54;

/// A link from an RTM_NEWLINK payload: the header and the three attributes we use.
fn link_from_payload(payload: &[u8]) -> Result<Link, String> {
    let header = LinkHeader::parse(payload).map_err(|e| e.to_string())?;
    let mut link = Link {
        index: header.index,
        name: String::new(),
        kind: u16::from(header.link_layer_type),
        up: header.flags.contains(LinkFlags::Up),
        address: None,
        permanent: None,
    };
    let attrs = payload.get(LINK_HEADER_LEN..).unwrap_or(&[]);
    for nla in NlasIterator::new(attrs) {
        let nla = nla.map_err(|e| e.to_string())?;
        let value = nla.value();
        match nla.kind() {
            IFLA_IFNAME => {
                let name = value.split(|&b| b == 0).next().unwrap_or(&[]);
                link.name = String::from_utf8_lossy(name).into_owned();
            }
            IFLA_ADDRESS => link.address = Mac::from_slice(value),
            IFLA_PERM_ADDRESS => link.permanent = Mac::from_slice(value).filter(|p| !p.is_zero()),
            _ => {}
        }
    }
    Ok(link)
}

/// The NLMSGERR_ATTR_MSG text of an error reply, if the kernel sent one. The payload after the
/// error code is the request's header (only the header, as we set NETLINK_CAP_ACK) and then TLVs.
fn ext_ack_message(flags: u16, payload: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 || payload.len() < 16 {
        return None;
    }
    let skip = if flags & NLM_F_CAPPED != 0 {
        16
    } else {
        u32::from_ne_bytes(payload[0..4].try_into().ok()?) as usize
    };
    let mut tlvs = payload.get(skip..)?;
    while tlvs.len() >= 4 {
        let len = u16::from_ne_bytes([tlvs[0], tlvs[1]]) as usize;
        let kind = u16::from_ne_bytes([tlvs[2], tlvs[3]]) & 0x3fff;
        if len < 4 || len > tlvs.len() {
            return None;
        }
        if kind == NLMSGERR_ATTR_MSG {
            let text = &tlvs[4..len];
            let text = text.split(|&b| b == 0).next().unwrap_or(&[]);
            return Some(String::from_utf8_lossy(text).into_owned()).filter(|s| !s.is_empty());
        }
        tlvs = tlvs.get((len + 3) & !3..).unwrap_or(&[]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;
    use netlink_packet_route::link::LinkLayerType;
    use proptest::prelude::*;

    fn emitted(msg: &LinkMessage) -> Vec<u8> {
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf);
        buf
    }

    #[test]
    fn link_is_read_from_the_raw_reply() {
        let mut msg = LinkMessage::default();
        msg.header.index = 7;
        msg.header.link_layer_type = LinkLayerType::Ether;
        msg.header.flags = LinkFlags::Up | LinkFlags::Broadcast;
        msg.attributes = vec![
            LinkAttribute::Mtu(1500),
            LinkAttribute::IfName("wlp3s0".into()),
            LinkAttribute::Address(vec![0x00, 0x1b, 0x21, 1, 2, 3]),
            LinkAttribute::PermAddress(vec![0x00, 0x1b, 0x21, 4, 5, 6]),
            LinkAttribute::TxQueueLen(1000),
        ];
        let link = link_from_payload(&emitted(&msg)).unwrap();
        assert_eq!(link.index, 7);
        assert_eq!(link.name, "wlp3s0");
        assert!(link.is_ether() && link.up);
        assert_eq!(link.address.unwrap().to_string(), "00:1b:21:01:02:03");
        assert_eq!(link.permanent.unwrap().to_string(), "00:1b:21:04:05:06");
        // And it agrees with the crate's full parse.
        let bytes = emitted(&msg);
        let full = <LinkMessage as netlink_packet_core::Parseable<[u8]>>::parse(&bytes).unwrap();
        assert_eq!(full.header.index, link.index);
    }

    #[test]
    fn an_all_zero_permanent_address_means_none() {
        let mut msg = LinkMessage::default();
        msg.attributes = vec![
            LinkAttribute::IfName("v0".into()),
            LinkAttribute::PermAddress(vec![0; 6]),
        ];
        let link = link_from_payload(&emitted(&msg)).unwrap();
        assert_eq!((link.name.as_str(), link.permanent), ("v0", None));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = link_from_payload(&bytes);
        }
    }

    #[test]
    fn ext_ack_is_parsed_from_capped_error() {
        let mut payload = vec![0u8; 16];
        let msg = b"Invalid address\0";
        let len = (4 + msg.len()) as u16;
        payload.extend_from_slice(&len.to_ne_bytes());
        payload.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        payload.extend_from_slice(msg);
        assert_eq!(
            ext_ack_message(NLM_F_CAPPED | NLM_F_ACK_TLVS, &payload).as_deref(),
            Some("Invalid address")
        );
        assert_eq!(ext_ack_message(NLM_F_CAPPED, &payload), None);
    }

    #[test]
    fn ext_ack_survives_garbage() {
        for p in [&[][..], &[0u8; 16][..], &[0xff; 40][..]] {
            let _ = ext_ack_message(NLM_F_CAPPED | NLM_F_ACK_TLVS, p);
            let _ = ext_ack_message(NLM_F_ACK_TLVS, p);
        }
    }
}
