-- SPDX-License-Identifier: Apache-2.0
-- HTTP pipelining for wrk: every write carries DEPTH requests (default 16), sent back to back.
-- Usage: wrk -s pipeline.lua URL -- DEPTH
-- wrk counts each response as a request; the latency it reports is per response, measured from the write of
-- the batch that carried its request.
init = function(args)
   local depth = tonumber(args[1]) or 16
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format(nil)
   end
   req = table.concat(r)
end

request = function()
   return req
end

-- Percentiles past wrk's --latency table (loadtest.py reads these lines; microseconds).
done = function(summary, latency, requests)
   for _, p in ipairs({50, 99, 99.9, 99.99}) do
      io.write(string.format("PCT %g %d\n", p, latency:percentile(p)))
   end
   io.write(string.format("PCT max %d\n", latency.max))
end
