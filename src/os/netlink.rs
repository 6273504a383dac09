//! Synchronous rtnetlink. The only module that imports the netlink crates: they break often, so
//! everything they define stays in here.

use crate::core::link::{Link, LinkError, Links};
use crate::core::mac::Mac;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader,
    NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkExtentMask, LinkFlags, LinkInfo, LinkMessage,
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
            buf: vec![0; RECV_BUF],
            perm_fallback: true,
        })
    }

    /// Whether lookups fill a missing permanent address through ethtool (on by default).
    /// Resolving names for a spoof turns it off: the spoof procedure reads the link again
    /// anyway, and the ioctl per interface was a measurable share of `spoof --all`.
    pub fn set_perm_fallback(&mut self, on: bool) {
        self.perm_fallback = on;
    }

    /// Sends one request and collects the replies: until the ACK for a plain request, until
    /// NLMSG_DONE for a dump.
    fn request(
        &mut self,
        op: &str,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, LinkError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags | if dump { 0 } else { NLM_F_ACK };
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut out = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut out);
        let io = |e: std::io::Error| LinkError::errno(op, e.raw_os_error().unwrap_or(0), None);
        self.socket.send(&out, 0).map_err(io)?;

        let mut replies = Vec::new();
        loop {
            let n = self.socket.recv(&mut &mut self.buf[..], 0).map_err(io)?;
            let mut off = 0;
            while off < n {
                let data = &self.buf[off..n];
                let len = NetlinkBuffer::new_checked(data)
                    .map_err(|e| LinkError::other(op, format!("malformed reply: {e}")))?
                    .length() as usize;
                if len == 0 || len > data.len() {
                    return Err(LinkError::other(op, "malformed reply length"));
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
                    NetlinkPayload::InnerMessage(m) => replies.push(m),
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
            .find_map(|r| match r {
                RouteNetlinkMessage::NewLink(m) => Some(to_link(&m)),
                _ => None,
            })
            .ok_or_else(|| LinkError::other(op, "the kernel sent no link"))?;
        Ok(self.with_perm_fallback(link))
    }

    /// Every interface in this network namespace, in index order.
    pub fn dump_links(&mut self) -> Result<Vec<Link>, LinkError> {
        let mut msg = LinkMessage::default();
        msg.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        let replies = self.request(
            "list interfaces",
            RouteNetlinkMessage::GetLink(msg),
            NLM_F_DUMP,
        )?;
        let mut links: Vec<Link> = replies
            .iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewLink(m) => Some(to_link(m)),
                _ => None,
            })
            .collect();
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

impl Links for Netlink {
    fn get(&mut self, index: u32) -> Result<Link, LinkError> {
        let fallback = std::mem::replace(&mut self.perm_fallback, true);
        let link = self.link_by_index(index);
        self.perm_fallback = fallback;
        link
    }
    fn address(&mut self, index: u32) -> Result<Option<Mac>, LinkError> {
        let fallback = std::mem::replace(&mut self.perm_fallback, false);
        let link = self.link_by_index(index);
        self.perm_fallback = fallback;
        Ok(link?.address)
    }
    fn set_address(&mut self, index: u32, mac: Mac) -> Result<(), LinkError> {
        Netlink::set_address(self, index, mac)
    }
    fn set_up(&mut self, index: u32, up: bool) -> Result<(), LinkError> {
        Netlink::set_up(self, index, up)
    }
}

fn to_link(m: &LinkMessage) -> Link {
    let mut link = Link {
        index: m.header.index,
        name: String::new(),
        kind: u16::from(m.header.link_layer_type),
        up: m.header.flags.contains(LinkFlags::Up),
        address: None,
        permanent: None,
    };
    for attr in &m.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Address(a) => link.address = Mac::from_slice(a),
            LinkAttribute::PermAddress(a) => {
                link.permanent = Mac::from_slice(a).filter(|p| !p.is_zero())
            }
            _ => {}
        }
    }
    link
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
