// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.jmh;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The run settings every Knot JMH benchmark extends, in one place so that their figures stay comparable: average
 * time in nanoseconds, 5 warm-up and 5 measured iterations of 1 s, 3 forks with native access and a fixed 512 MiB
 * heap. JMH's annotations are {@code @Inherited}; a command-line option ({@code -f}, {@code -i}) still overrides them.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 3, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms512m", "-Xmx512m"})
public abstract class RunSettings {
}
