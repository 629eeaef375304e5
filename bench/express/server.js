// The overview's own Express handler (../shared/reference/000_fa4553db35236e9e.txt, Step 1), as a
// user would copy it: parse, log, answer 200, "process" in the background. It stores nothing.
const express = require('express');
const app = express();
app.use(express.json({ limit: '1mb' }));
function processEvent(event) {}
app.post('/webhook/whatsapp', (req, res) => {
  const event = req.body;
  if (process.env.BENCH_LOG === '1') console.log('Received event:', event.event);
  res.status(200).send('OK');
  processEvent(event);
});
app.listen(Number(process.env.PORT || 3000), '127.0.0.1');
