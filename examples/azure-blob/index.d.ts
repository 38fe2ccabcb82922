/** Splits `https://<account>.blob.core.windows.net/<container>/<blob path>` into account URL, container and blob. */
export declare function parseBlobUrl(url: string): {
    accountUrl: string;
    container: string;
    blob: string;
};
/** Real Azure when AZURE_BLOB_URL is set, else the local mocks. */
export declare function main(): Promise<void>;
