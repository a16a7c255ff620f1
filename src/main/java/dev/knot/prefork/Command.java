// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One control-socket command line, parsed strictly: an unknown word, a missing or extra argument is an error
 * (so {@code stop --fats} is refused instead of read as a graceful stop).
 *
 * @param verb the command
 * @param flags the options it was given (each one the command knows)
 * @param count the worker count of {@code scale}
 * @param args the new master's extra arguments ({@code upgrade} only)
 */
record Command(String verb, Set<String> flags, int count, List<String> args) {
    /** The grammar, for error messages and {@code knotctl --help}. */
    static final String USAGE = "status [--json] | workers [--json] | reload | restart --phased | stop [--fast] | scale N"
            + " | upgrade [--jar PATH] [MASTER-OPTION...]";

    /** A line that is not a command. */
    static final class BadCommand extends IllegalArgumentException {
        BadCommand(String message) {
            super(message);
        }
    }

    /** Parses {@code line}; throws {@link BadCommand} naming what is wrong. */
    static Command parse(String line) {
        String trimmed = line.strip();
        if (trimmed.isEmpty()) throw new BadCommand("empty command (" + USAGE + ")");
        String[] w = trimmed.split("\\s+");
        String verb = w[0];
        List<String> rest = List.of(w).subList(1, w.length);
        return switch (verb) {
            case "status", "workers" -> new Command(verb, flags(verb, rest, Set.of("--json")), 0, List.of());
            case "reload" -> new Command(verb, flags(verb, rest, Set.of()), 0, List.of());
            case "restart" -> {
                Set<String> f = flags(verb, rest, Set.of("--phased"));
                if (!f.contains("--phased")) throw new BadCommand("restart needs --phased (the all-at-once restart is 'reload')");
                yield new Command(verb, f, 0, List.of());
            }
            case "stop" -> new Command(verb, flags(verb, rest, Set.of("--fast")), 0, List.of());
            case "scale" -> {
                if (rest.size() != 1) throw new BadCommand("scale takes one worker count, e.g. 'scale 4'");
                int n;
                try {
                    n = Integer.parseInt(rest.get(0));
                } catch (NumberFormatException e) {
                    throw new BadCommand("not a number: " + rest.get(0));
                }
                if (n < 0 || n > 1024) throw new BadCommand("worker count out of range [0, 1024]: " + n);
                yield new Command(verb, Set.of(), n, List.of());
            }
            case "upgrade" -> new Command(verb, Set.of(), 0, new ArrayList<>(rest));
            default -> throw new BadCommand("unknown command '" + verb + "' (" + USAGE + ")");
        };
    }

    private static Set<String> flags(String verb, List<String> words, Set<String> known) {
        for (String x : words) {
            if (!known.contains(x)) {
                throw new BadCommand(known.isEmpty() ? verb + " takes no arguments, not '" + x + "'"
                        : "unknown argument '" + x + "' for " + verb + " (it takes " + String.join(", ", known) + ")");
            }
        }
        if (Set.copyOf(words).size() != words.size()) throw new BadCommand("repeated argument in '" + verb + " " + String.join(" ", words) + "'");
        return Set.copyOf(words);
    }

    boolean has(String flag) {
        return flags.contains(flag);
    }
}
