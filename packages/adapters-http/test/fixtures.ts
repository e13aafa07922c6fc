/**
 * Recorded directory index pages. Apache httpd is not installed where these tests run (CI
 * installs nginx only), so its `mod_autoindex` output is checked against pages in the exact
 * markup Apache 2.4 writes (Debian's default `FancyIndexing HTMLTable`, the `<pre>` form
 * without `HTMLTable`, and the plain `<ul>` list without `FancyIndexing`), with this
 * project's own file names. Apache escapes hrefs with lower-case `%xx`, HTML-escapes `&`,
 * prefixes names holding a colon with `./`, rounds sizes from 973 bytes up (`1.2K`) and
 * prints server-local times without a zone.
 */

export const APACHE_TABLE = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html>
 <head>
  <title>Index of /isos</title>
 </head>
 <body>
<h1>Index of /isos</h1>
  <table>
   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th><th><a href="?C=D;O=A">Description</a></th></tr>
   <tr><th colspan="5"><hr></th></tr>
<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="/">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td><td>&nbsp;</td></tr>
<tr><td valign="top"><img src="/icons/folder.gif" alt="[DIR]"></td><td><a href="old%20releases/">old releases/</a></td><td align="right">2024-03-01 09:12  </td><td align="right">  - </td><td>&nbsp;</td></tr>
<tr><td valign="top"><img src="/icons/text.gif" alt="[TXT]"></td><td><a href="SHA256SUMS">SHA256SUMS</a></td><td align="right">2024-02-10 08:01  </td><td align="right">512 </td><td>&nbsp;</td></tr>
<tr><td valign="top"><img src="/icons/unknown.gif" alt="[   ]"></td><td><a href="alpine-3.19.1-x86_64.iso">alpine-3.19.1-x86_64.iso</a></td><td align="right">2024-01-26 14:05  </td><td align="right">207M</td><td>&nbsp;</td></tr>
<tr><td valign="top"><img src="/icons/text.gif" alt="[TXT]"></td><td><a href="caf%c3%a9%20R&amp;D.txt">café R&amp;D.txt</a></td><td align="right">2024-02-11 17:30  </td><td align="right"> 13K</td><td>&nbsp;</td></tr>
<tr><td valign="top"><img src="/icons/unknown.gif" alt="[   ]"></td><td><a href="debian-12.qcow2">debian-12.qcow2</a></td><td align="right">2024-02-10 08:00  </td><td align="right">1.2G</td><td>&nbsp;</td></tr>
<tr><td valign="top"><img src="/icons/text.gif" alt="[TXT]"></td><td><a href="./notes:v2.txt">notes:v2.txt</a></td><td align="right">2024-02-12 06:45  </td><td align="right">  0 </td><td>&nbsp;</td></tr>
   <tr><th colspan="5"><hr></th></tr>
</table>
<address>Apache/2.4.62 (Debian) Server at mirror.example.com Port 80</address>
</body></html>
`

export const APACHE_PRE = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html>
 <head>
  <title>Index of /pub/images</title>
 </head>
 <body>
<h1>Index of /pub/images</h1>
<pre><img src="/icons/blank.gif" alt="Icon "> <a href="?C=N;O=D">Name</a>                    <a href="?C=M;O=A">Last modified</a>      <a href="?C=S;O=A">Size</a>  <a href="?C=D;O=A">Description</a><hr><img src="/icons/back.gif" alt="[PARENTDIR]"> <a href="/pub/">Parent Directory</a>                             -   
<img src="/icons/folder.gif" alt="[DIR]"> <a href="cloud/">cloud/</a>                  2023-11-02 10:00    -   
<img src="/icons/unknown.gif" alt="[   ]"> <a href="fedora-cloud-base-39.raw.xz">fedora-cloud-base-39.raw..&gt;</a> 2023-11-02 10:04  453M  
<img src="/icons/text.gif" alt="[TXT]"> <a href="README.txt">README.txt</a>              2023-10-30 21:17  745   
<img src="/icons/unknown.gif" alt="[   ]"> <a href="a%2bb%20%5b1%5d.img">a+b [1].img</a>             2023-10-30 21:18  2.0M  
<hr></pre>
</body></html>
`

export const APACHE_PLAIN = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html>
 <head>
  <title>Index of /templates</title>
 </head>
 <body>
<h1>Index of /templates</h1>
<ul><li><a href="/"> Parent Directory</a></li>
<li><a href="windows%20server/"> windows server/</a></li>
<li><a href="ubuntu-24.04.vhdx"> ubuntu-24.04.vhdx</a></li>
<li><a href="%e6%97%a5%e6%9c%ac.iso"> 日本.iso</a></li>
</ul>
</body></html>
`

/** nginx 1.22 `autoindex on; autoindex_exact_size off;` (recorded, names changed). */
export const NGINX_ROUNDED = `<html>
<head><title>Index of /mirror/</title></head>
<body>
<h1>Index of /mirror/</h1><hr><pre><a href="../">../</a>
<a href="isos/">isos/</a>                                              22-Nov-2026 17:54                   -
<a href="a%3Ab.txt">a:b.txt</a>                                            22-Nov-2026 17:54                   1
<a href="ab%3Ac.txt">ab:c.txt</a>                                           22-Nov-2026 17:54                   2
<a href="big.img">big.img</a>                                            22-Nov-2026 17:55                 12M
<a href="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx">xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..&gt;</a> 22-Nov-2026 17:54                9999
</pre><hr></body>
</html>
`
