/** iSCSI names and CHAP credentials (RFC 3720/3722), shared by the drivers and the API. */

export * from './chap.js'
export * from './iqn.js'
export * from './names.js'
export * from './schemas.js'
