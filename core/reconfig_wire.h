/* dmutex core: the epoch policy's reconfiguration messages on the wire.
 *
 * core/reconfig.h speaks dm_reconfig_msg (member lists, named fields); the
 * drivers carry dm_msg (core/message.h) through the codec. This maps one to
 * the other, exactly: every message dm_reconfig_msg_to_wire accepts comes
 * back from dm_reconfig_msg_from_wire equal, field for field.
 *
 *   dm_reconfig_msg           dm_msg
 *   SEAL .. STALE, NACK       DM_MSG_SEAL .. DM_MSG_STALE, DM_MSG_REFUSED
 *   epoch, ballot             epoch, ballot
 *   accepted_ballot (SEALED)  ballot2
 *   promised (NACK)           ballot2
 *   tokens, lease_us          grant, value
 *   conf                      members (a bitmap: ids below 64); its epoch is
 *                             not sent but implied: epoch + 1 for SEALED
 *                             (when it has one) and ACCEPT, epoch for
 *                             INSTALL and NEWER
 * The wire's clock is left 0 for the driver to set; from_wire ignores it.
 */
#ifndef DMUTEX_CORE_RECONFIG_WIRE_H
#define DMUTEX_CORE_RECONFIG_WIRE_H

#include <stdint.h>

#include "message.h"    /* dm_msg_is_reconfig */
#include "reconfig.h"

/* The ids a configuration can hold on the wire: 0..63. */
#define DM_RECONFIG_WIRE_IDS 64u

/* Fill *out from *in. 0, or, with *out not to be used: -DM_ETYPE (unknown
 * type), -DM_EINVAL (what the wire cannot say: a configuration id of 64 or
 * more), -DM_EMALFORMED (what would not come back equal: a field the type
 * does not carry set, a configuration that is not strictly ascending or
 * whose epoch is not the one the type implies), or the error of
 * dm_msg_validate(out, DM_MAX_MEMBERS) (from/to beyond the wire's members,
 * a required field 0, ...). */
int dm_reconfig_msg_to_wire(const dm_reconfig_msg *in, dm_msg *out);

/* Fill *out from *in, a message from the network. 0 (and *out passes
 * dm_reconfig_msg_check(out, universe)), or -DM_ETYPE (not a
 * reconfiguration type), the error of dm_msg_validate(in, universe), or
 * that of dm_reconfig_msg_check. */
int dm_reconfig_msg_from_wire(const dm_msg *in, uint32_t universe, dm_reconfig_msg *out);

#endif
