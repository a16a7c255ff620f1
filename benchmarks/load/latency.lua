-- SPDX-License-Identifier: Apache-2.0
-- Plain (one request per write) wrk runs with the tail percentiles wrk's --latency table lacks.
-- Usage: wrk -s latency.lua URL
done = function(summary, latency, requests)
   for _, p in ipairs({50, 99, 99.9, 99.99}) do
      io.write(string.format("PCT %g %d\n", p, latency:percentile(p)))
   end
   io.write(string.format("PCT max %d\n", latency.max))
end
