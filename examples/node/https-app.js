'use strict';
/*
 * SPDX-License-Identifier: ISC
 *
 * https-app.js - plain-app.js over TLS: an https server's listen() under
 * clusterd(8) with `ipc = node-cluster`.  Node's cluster code sends the
 * server's TLS session-ticket keys with its request for the port and
 * reads them back from the answer; clusterd echoes them.
 *
 * TLS_CERT and TLS_KEY name the certificate and key files.  A self-signed
 * pair for trying it:
 *
 *	openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
 *	    -subj /CN=localhost -keyout key.pem -out cert.pem
 */

const fs = require('fs');
const https = require('https');

const options = {
	cert: fs.readFileSync(process.env.TLS_CERT || 'cert.pem'),
	key: fs.readFileSync(process.env.TLS_KEY || 'key.pem'),
};

https.createServer(options, (req, res) => {
	res.end(`hello over TLS from pid ${process.pid}\n`);
}).listen(process.env.PORT || 3443);
