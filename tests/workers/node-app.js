'use strict';
/*
 * SPDX-License-Identifier: ISC
 *
 * node-app.js - a Node.js app for the node-cluster tests: an ordinary
 * http (or https) server that calls listen() as any app does and never
 * touches clusterd's variables, so what it gets is what Node's cluster
 * code asked the primary for.
 *
 * Environment:
 *	LISTEN=SPEC[,SPEC...]	what to listen on, each one server:
 *				PORT		listen(PORT)
 *				HOST:PORT	listen(PORT, HOST)
 *				/PATH		listen(PATH)
 *				fd:N		listen({fd: N})
 *	TLS_CERT, TLS_KEY	files: https instead of http
 *	REPORT_DIR		where the report goes
 *	DELAY_MS=N		every response waits N ms (in-flight work)
 *	SERVE_AFTER_MS=N	call listen() N ms after the start
 *	EXHAUST_FDS=1		open /dev/null until EMFILE before listening
 *				(with a low RLIMIT_NOFILE: the handle cannot
 *				arrive, Node answers NODE_HANDLE_NACK); they
 *				are closed once every listen() is done
 *
 * Once every listen() has succeeded or failed, it writes
 * $REPORT_DIR/<CLUSTERD_PROGRAM or node-app>.<NODE_APP_INSTANCE>.<pid>
 * (atomically) with key=value lines: pid, is_worker, is_primary,
 * worker_id, app_instance, unique_id_left (NODE_UNIQUE_ID still in
 * process.env), and per server N: listenN (ok or the error code),
 * fdN (the descriptor the server uses), inodeN (its inode), portN.
 *
 * Requests:
 *	GET /			"pid P worker W\n"
 *	GET /slow?ms=N		the same after N ms
 *	GET /crash		exit 3 at once, without answering
 *	GET /throw		an uncaught exception
 *	GET /disconnect		answer, then cluster.worker.disconnect()
 *	GET /lose		answer, then close the IPC channel
 *				(process.disconnect(): Node exits 0)
 *	GET /send?msg=TEXT	process.send(TEXT) (an app message), answer
 *
 * On stdout: "node-app PID request URL", "node-app PID listening" (every
 * listen() done), "node-app PID disconnect", "node-app PID exit CODE".
 */

const cluster = require('cluster');
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');

const pid = process.pid;
const uniqueLeft = process.env.NODE_UNIQUE_ID !== undefined;
const delay = Number(process.env.DELAY_MS || 0);
const specs = (process.env.LISTEN || '3000').split(',');
const results = [];
const hoard = [];
let pending = specs.length;

function handler(req, res)
{
	const url = new URL(req.url, 'http://x');
	const id = cluster.worker ? cluster.worker.id : 0;
	const body = `pid ${pid} worker ${id}\n`;
	const ms = url.pathname === '/slow' ?
	    Number(url.searchParams.get('ms') || 500) : delay;

	console.log(`node-app ${pid} request ${req.url}`);
	if (url.pathname === '/crash')
		process.exit(3);
	if (url.pathname === '/throw')
		throw new Error('node-app: /throw asked for it');
	if (url.pathname === '/send')
		process.send(url.searchParams.get('msg') || 'hello');
	setTimeout(() => {
		res.end(body);
		if (url.pathname === '/disconnect') {
			console.log(`node-app ${pid} disconnect`);
			cluster.worker.disconnect();
		}
		if (url.pathname === '/lose') {
			console.log(`node-app ${pid} lose`);
			process.disconnect();
		}
	}, ms);
}

function makeServer()
{
	if (process.env.TLS_CERT === undefined)
		return http.createServer(handler);
	return https.createServer({
		cert: fs.readFileSync(process.env.TLS_CERT),
		key: fs.readFileSync(process.env.TLS_KEY),
	}, handler);
}

function listenArgs(spec)
{
	if (spec.startsWith('fd:'))
		return [{ fd: Number(spec.slice(3)) }];
	if (spec.startsWith('/'))
		return [spec];
	const colon = spec.lastIndexOf(':');
	if (colon === -1)
		return [Number(spec)];
	return [Number(spec.slice(colon + 1)),
	    spec.slice(0, colon).replace(/^\[|\]$/g, '')];
}

function done(i, result)
{
	results[i] = result;
	if (--pending === 0)
		report();
}

function serve(spec, i)
{
	const server = makeServer();

	server.on('error', (err) => done(i, { listen: err.code }));
	server.listen(...listenArgs(spec), () => {
		const fd = server._handle.fd;
		const addr = server.address();

		done(i, {
			listen: 'ok',
			fd,
			inode: fs.fstatSync(fd).ino,
			port: addr !== null && typeof addr === 'object' ?
			    addr.port : -1,
		});
	});
}

function exhaust()
{
	for (;;) {
		try {
			hoard.push(fs.openSync('/dev/null', 'r'));
		} catch (err) {
			if (err.code !== 'EMFILE' || hoard.length === 0)
				throw err;
			return;
		}
	}
}

function report()
{
	const dir = process.env.REPORT_DIR;

	hoard.forEach((fd) => fs.closeSync(fd));
	const lines = [
		`pid=${pid}`,
		`is_worker=${cluster.isWorker ? 1 : 0}`,
		`is_primary=${cluster.isPrimary ? 1 : 0}`,
		`worker_id=${cluster.worker ? cluster.worker.id : ''}`,
		`app_instance=${process.env.NODE_APP_INSTANCE || ''}`,
		`unique_id_left=${uniqueLeft ? 1 : 0}`,
		`start_ms=${Date.now()}`,
		`start_mono_ms=${process.hrtime.bigint() / 1000000n}`,
	];

	results.forEach((r, i) => {
		for (const [k, v] of Object.entries(r))
			lines.push(`${k}${i}=${v}`);
	});
	console.log(`node-app ${pid} listening`);
	if (dir === undefined)
		return;
	const name = `${process.env.CLUSTERD_PROGRAM || 'node-app'}.` +
	    `${process.env.NODE_APP_INSTANCE || 0}.${pid}`;
	const tmp = path.join(dir, `.${name}.tmp`);
	fs.writeFileSync(tmp, lines.join('\n') + '\n');
	fs.renameSync(tmp, path.join(dir, name));
}

process.on('exit', (code) => console.log(`node-app ${pid} exit ${code}`));
if (process.env.EXHAUST_FDS === '1')
	exhaust();
if (process.env.SERVE_AFTER_MS === undefined)
	specs.forEach(serve);
else
	setTimeout(() => specs.forEach(serve),
	    Number(process.env.SERVE_AFTER_MS));
