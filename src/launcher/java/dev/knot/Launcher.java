// SPDX-License-Identifier: Apache-2.0
package dev.knot;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * The jar's {@code Main-Class}: refuses a Java older than Knot's one supported range with one clear line, then
 * hands over to {@link Main}.
 *
 * <p>The rest of Knot is compiled for Java 25, so an older JVM would stop at loading {@code Main} with a raw
 * {@code UnsupportedClassVersionError}. This class is compiled for release 8 (its own compiler execution in the
 * pom), touches nothing newer, and reaches {@code Main} by reflection only after the check, so the check itself
 * runs on any JVM from 8 on.
 */
public final class Launcher {
    /** The oldest Java feature release Knot runs on; the pom's {@code maven.compiler.release}. */
    static final int REQUIRED = 25;

    private Launcher() {}

    /**
     * Checks the running Java, then runs {@code dev.knot.Main.main(args)}.
     *
     * @param args passed to {@code Main} unchanged
     * @throws Throwable whatever {@code Main} throws, unwrapped from the reflective call
     */
    public static void main(String[] args) throws Throwable {
        String spec = System.getProperty("java.specification.version", "");
        int feature = feature(spec);
        if (feature < REQUIRED) {
            System.err.println("Knot needs Java " + REQUIRED + " or newer; this is "
                    + (feature > 0 ? Integer.toString(feature) : "'" + spec + "'"));
            System.exit(1);
        }
        Method main = Class.forName("dev.knot.Main").getMethod("main", String[].class);
        try {
            main.invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** "1.8" is 8, "17" is 17; anything unparsable is 0, which is refused. */
    static int feature(String spec) {
        String s = spec.startsWith("1.") ? spec.substring(2) : spec;
        int end = 0;
        while (end < s.length() && Character.isDigit(s.charAt(end))) end++;
        if (end == 0 || end > 4) return 0;
        return Integer.parseInt(s.substring(0, end));
    }
}
