package dev.knot;

import dev.knot.examples.KqueueDemo;

/** The entry point of {@code java -jar knot.jar}. */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        KqueueDemo.main(args);
    }
}
