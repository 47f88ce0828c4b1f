/** The dashboard's style sheet: readable tables, right-aligned figures, red for what needs an operator. */
export const STYLE = `
:root{--bg:#f5f6f8;--panel:#fff;--text:#1d2330;--muted:#6b7385;--line:#e2e5ea;--head:#f0f2f5;--hover:#eef4ff;
  --selected:#dde9ff;--red:#c62828;--red-bg:#fdecec;--green:#2e7d32;--amber:#a15c00;--accent:#2457c5}
@media (prefers-color-scheme: dark){:root{--bg:#14171c;--panel:#1c2027;--text:#e6e9ef;--muted:#98a0b0;--line:#2c323c;
  --head:#232831;--hover:#25304a;--selected:#2b3a5c;--red:#ff6b6b;--red-bg:#3a1f22;--green:#6fcf73;--amber:#f0b352;--accent:#7aa7ff}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;align-items:center;gap:16px;padding:10px 20px;background:var(--panel);border-bottom:1px solid var(--line);
  position:sticky;top:0;z-index:2}
h1{font-size:18px;margin:0;font-weight:650}h1 span{color:var(--muted);font-weight:400}
h2{font-size:16px;margin:0 0 10px}h3{font-size:14px;margin:18px 0 6px}
.connection{margin-left:auto;color:var(--muted);font-size:13px}.connection.ok::before{content:"● ";color:var(--green)}
.connection.error{color:var(--red)}.connection.error::before{content:"● "}
main{padding:16px 20px;display:grid;gap:16px}main>*{min-width:0}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:14px 16px}
.muted{color:var(--muted);font-weight:400}
.scroll{overflow-x:auto}.scroll.tall{max-height:560px;overflow-y:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;white-space:nowrap}
th{background:var(--head);font-weight:600;position:sticky;top:0}
.num{text-align:right;font-variant-numeric:tabular-nums}
#partitions tbody tr{cursor:pointer}#partitions tbody tr:hover{background:var(--hover)}
#partitions tbody tr.selected{background:var(--selected)}
tr.stalled td{background:var(--red-bg)}
.bad{color:var(--red);font-weight:600}.good{color:var(--green)}.warn{color:var(--amber)}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:650;letter-spacing:.02em}
.badge.stalled{background:var(--red);color:#fff}.badge.ok{background:var(--green);color:#fff}.badge.idle{background:var(--line);color:var(--text)}
td.reason{white-space:normal;min-width:220px;max-width:420px}
td.text{white-space:normal;max-width:380px;overflow-wrap:anywhere;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.stall-reason{background:var(--red-bg);color:var(--red);border-radius:6px;padding:8px 10px;font-weight:600;margin:0 0 10px}
.facts{display:flex;flex-wrap:wrap;gap:4px 22px;margin:0 0 6px}.facts div{display:flex;gap:6px}
.facts dt{color:var(--muted)}.facts dd{margin:0;font-variant-numeric:tabular-nums}
.chart{position:relative;height:220px}
.columns{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:20px}
@media (max-width:1100px){.columns{grid-template-columns:minmax(0,1fr)}}
button{font:inherit;padding:3px 12px;border-radius:6px;border:1px solid var(--line);background:var(--head);color:var(--text);cursor:pointer}
button:hover{border-color:var(--accent)}button:disabled{opacity:.5;cursor:default}
button.redrive{border-color:var(--red);color:var(--red)}
input{font:inherit;padding:3px 8px;border-radius:6px;border:1px solid var(--line);background:var(--panel);color:var(--text)}
input.new-seq{width:9em;margin-right:6px}
.key-panel{border-color:var(--accent);max-width:640px}.key-panel form{display:flex;gap:8px;align-items:center}
.key-panel input{flex:1}.hint{color:var(--muted);font-size:12px}
#key-message.bad{color:var(--red)}
.note{margin:0 0 8px;font-size:13px}.note.bad{color:var(--red)}
`;
