'use strict';
/*
 * SPDX-License-Identifier: ISC
 *
 * plain-app.js - an ordinary Node.js app that knows nothing of clusters,
 * run unchanged under clusterd(8) with `ipc = node-cluster`
 * (conf/node-plain.ini).
 *
 * clusterd starts each worker as a Node cluster worker (NODE_UNIQUE_ID and
 * Node's IPC channel), so this listen() asks clusterd for the port instead
 * of binding it: every worker serves clusterd's socket, none fails with
 * EADDRINUSE.  Readiness is the listen itself (ready = listening), a stop
 * is Node's own graceful disconnect.
 */

const http = require('http');

function app(req, res)
{
	res.end(`hello from pid ${process.pid}\n`);
}

http.createServer(app).listen(process.env.PORT || 3000);
