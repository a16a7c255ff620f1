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
    /** SO_ERROR is destructive on Linux: the value read once is kept for both filters until the record goes. */
    int soError;
    /** A registration left disarmed in the kernel after a oneshot fired (so the next add must MOD, not ADD). */
    boolean readLingers, writeLingers;

    FdRecord(int fd) {
        this.fd = fd;
    }

    boolean isEmpty() {
        return read == null && write == null && vnode == null && !readLingers && !writeLingers;
    }
}
