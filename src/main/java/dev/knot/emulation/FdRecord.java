// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

/**
 * What one kqueue knows about one descriptor number: its READ, WRITE and VNODE knotes, how its data is
 * computed (learnt on the first event) and the socket error last read. Guarded by the kqueue's lock.
 */
final class FdRecord {
    final int fd;
    Knote read, write, vnode;
    /** How READ and WRITE data are computed for this descriptor; see FdFilter. */
    int readKind, writeKind;
    /** The S_IFMT bits of the file, looked up when first needed; 0 until then. */
    int fileType;
    /** SO_ERROR is destructive on Linux: the value read once is kept for both filters until the record goes. */
    int soError;
    /** A registration left disarmed in the kernel after a oneshot fired (so the next add must MOD, not ADD). */
    boolean readLingers, writeLingers;
    /** Knot shut the sending side down (shutdown(SHUT_WR) through Knot): WRITE reports EV_EOF, as SBS_CANTSENDMORE does. */
    boolean sendShut;
    /** The descriptor refused SIOCINQ as an io_uring command (it is no TCP or UDP socket): see DataQueries. */
    boolean inqRefused;

    /** Forgets what was learnt about the file behind the number: a new knote may be on another file. */
    void forget() {
        readKind = writeKind = fileType = 0;
        soError = 0;
        sendShut = false;
        inqRefused = false;
    }

    FdRecord(int fd) {
        this.fd = fd;
    }

    boolean isEmpty() {
        return read == null && write == null && vnode == null && !readLingers && !writeLingers;
    }
}
