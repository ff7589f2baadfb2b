/* dmutex core: the wire codec.
 *
 * A frame is self-delimiting and versioned; all integers big-endian:
 *
 *   u32 length     total frame length in bytes, header included
 *   u8  version    DM_WIRE_VERSION
 *   u8  type       dm_msg_type
 *   u16 from
 *   u16 to
 *   u8  name_len   lock messages 1..255, membership messages 0
 *   u8  flags      0 (reserved for authentication trailers)
 *   u64 clock
 *   name bytes
 *   type-specific fields in the order of message.h's table (attempt u64,
 *     grant u64, value u64, round u32, target u32, epoch u64, ballot u64,
 *     ballot2 u64, members u64 -- those the type uses)
 *   membership messages only (PING, PING_REQ, ACK, NACK, SYNC), the updates:
 *     u8  count      0..DM_MSG_MAX_UPDATES
 *     count times:
 *       u16 member
 *       u16 accuser  who declared the state
 *       u8  state    dm_member_state
 *       u8  reserved 0
 *       u32 incarnation
 *
 * The length prefix must equal exactly what the type, name_len and count
 * make up. The largest frame, a PING_REQ/ACK/NACK with 64 updates, is
 * 20 + 8 + 4 + 1 + 640 = 673 bytes; a lock message with a 255-byte name is
 * at most 20 + 255 + 36 = 311; the reconfiguration messages have one size
 * each, from 28 (INSTALLED, STALE) to 68 (SEALED).
 *
 * Version 2 added `epoch` to every lock and recovery message and the
 * reconfiguration types; a version 1 frame (an old peer) is refused whole
 * with -DM_EVERSION rather than read with the fields shifted.
 *
 * A decoder never reads outside the buffer it is given, and tells apart a
 * buffer that is too short (-DM_ETRUNC: wait for more bytes on a stream), a
 * length prefix that can never be valid (-DM_EOVERSIZE), an unknown version
 * (-DM_EVERSION), an unknown type (-DM_ETYPE) and fields that do not add up
 * (-DM_EMALFORMED, -DM_EBADNAME).
 */
#ifndef DMUTEX_CORE_CODEC_H
#define DMUTEX_CORE_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include "message.h"

#define DM_WIRE_VERSION 2
#define DM_FRAME_HEADER 20
#define DM_FRAME_MAX 1400     /* fits one UDP datagram on any sane path */

/* Encoded size of m, or a negative error when m is not valid. */
int dm_codec_size(const dm_msg *m);

/* Encode m into buf. Returns the frame length, -DM_EINVAL when cap is too
 * small, or the error of dm_msg_validate(m, DM_MAX_MEMBERS). */
int dm_codec_encode(const dm_msg *m, uint8_t *buf, size_t cap);

/* For frames that are not a dm_msg but share the header, framing and
 * authentication (core/confagree.h's HELLO): write the header of a frame
 * of `type` and `length` bytes (name_len, flags and clock 0), and read a
 * frame's type byte (-1 when buf is shorter than that). */
void dm_codec_put_header(uint8_t *buf, uint8_t type, uint16_t from, uint16_t to, uint32_t length);
int dm_codec_frame_type(const uint8_t *buf, size_t len);

/* Length of the frame starting at buf once at least 4 bytes are present:
 * returns the length, -DM_ETRUNC (fewer than 4 bytes), -DM_EOVERSIZE or
 * -DM_EMALFORMED (shorter than a header). For stream framing. */
int dm_codec_frame_length(const uint8_t *buf, size_t len);

/* Decode exactly one frame from buf[0..len). On success returns the number
 * of bytes consumed (the frame length) and fills *m, which then passes
 * dm_msg_validate(m, DM_MAX_MEMBERS) (so from != to; -DM_EPEER otherwise);
 * extra bytes after the frame are left for the caller. On error *m may have
 * been partly written and must not be used. */
int dm_codec_decode(const uint8_t *buf, size_t len, dm_msg *m);

#endif
