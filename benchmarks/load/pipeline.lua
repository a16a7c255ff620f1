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
