// SPDX-License-Identifier: Apache-2.0
package dev.knot.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The kqueue tests' fixture, once: every instance field of type {@link Kq} gets a fresh kqueue before each test and
 * is closed after it, and the class fails if it leaves a descriptor open ({@link NoFdLeaks}).
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith({NoFdLeaks.class, KqueueTest.Fixture.class})
public @interface KqueueTest {
    /** Opens the {@link Kq} fields before each test and closes them after it. */
    final class Fixture implements BeforeEachCallback, AfterEachCallback {
        private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(Fixture.class);

        @Override
        public void beforeEach(ExtensionContext context) throws Exception {
            Object test = context.getRequiredTestInstance();
            List<Kq> opened = new ArrayList<>();
            context.getStore(NS).put("opened", opened);
            for (Field f : fields(test.getClass())) {
                Kq kq = new Kq();
                opened.add(kq);
                f.set(test, kq);
            }
        }

        @Override
        @SuppressWarnings("unchecked")
        public void afterEach(ExtensionContext context) {
            List<Kq> opened = (List<Kq>) context.getStore(NS).remove("opened");
            if (opened != null) for (Kq kq : opened) kq.close();
        }

        private static List<Field> fields(Class<?> c) {
            List<Field> l = new ArrayList<>();
            for (; c != null && c != Object.class; c = c.getSuperclass()) {
                for (Field f : c.getDeclaredFields()) {
                    if (f.getType() == Kq.class && !Modifier.isStatic(f.getModifiers()) && !Modifier.isFinal(f.getModifiers())) {
                        f.setAccessible(true);
                        l.add(f);
                    }
                }
            }
            return l;
        }
    }
}
