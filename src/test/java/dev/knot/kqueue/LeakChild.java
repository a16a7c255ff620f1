// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import dev.knot.testing.Posix;

/**
 * Child JVM for {@link LifecycleTest}: runs open/use/close cycles of Kqueue and KeventArray under
 * {@code -XX:NativeMemoryTracking=summary} and prints the NMT summary diff of the measured cycles, plus the
 * descriptor counts before and after.
 */
public final class LeakChild {
    private LeakChild() {}

    /**
     * The DiagnosticCommand MBean's vmNativeMemory (jcmd VM.native_memory). Reached reflectively: the test sources
     * compile as part of module dev.knot, which does not read java.management; the child runs on the class path.
     */
    static String nmt(String command) throws Exception {
        Object server = Class.forName("java.lang.management.ManagementFactory").getMethod("getPlatformMBeanServer").invoke(null);
        Class<?> objectName = Class.forName("javax.management.ObjectName");
        Object on = objectName.getConstructor(String.class).newInstance("com.sun.management:type=DiagnosticCommand");
        Object r = Class.forName("javax.management.MBeanServerConnection")
                .getMethod("invoke", objectName, String.class, Object[].class, String[].class)
                .invoke(server, on, "vmNativeMemory", new Object[] {new String[] {command}}, new String[] {String[].class.getName()});
        return (String) r;
    }

    public static void main(String[] args) throws Exception {
        int cycles = Integer.parseInt(args[0]);
        int[] sp = Posix.socketpair();
        LifecycleTest.cycles(sp, 2_000);                  // warm up: classes, JIT, per-thread state
        System.gc();
        nmt("baseline");                                 // (loads the management classes: measure fds after it)
        int fdsBefore = Posix.openFdCount();
        LifecycleTest.cycles(sp, cycles);
        System.gc();
        Thread.sleep(200);
        System.out.println("NMT-DIFF-BEGIN");
        System.out.println(nmt("summary.diff"));
        System.out.println("NMT-DIFF-END");
        System.out.println("fds before=" + fdsBefore + " after=" + Posix.openFdCount());
        Posix.rawClose(sp[0]);
        Posix.rawClose(sp[1]);
    }
}
